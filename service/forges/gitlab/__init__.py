"""GitLab: webhooks and fork listings."""
