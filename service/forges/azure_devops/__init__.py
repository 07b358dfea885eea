"""Azure DevOps Services and Server: webhooks and fork listings."""
