"""Forge integrations: fork listings, forges config, credentials."""
