"""Bitbucket Server and Data Center: webhooks and fork listings."""
