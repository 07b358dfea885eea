"""Gitea and Forgejo: webhooks and fork listings."""
