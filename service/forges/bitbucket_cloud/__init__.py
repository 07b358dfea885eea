"""Bitbucket Cloud (bitbucket.org): webhooks and fork listings."""
