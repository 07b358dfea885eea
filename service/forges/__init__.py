"""Forge drivers: one package per forge for webhooks and fork listings, behind one interface."""
