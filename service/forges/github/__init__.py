"""GitHub and GitHub Enterprise: webhooks and fork listings."""
