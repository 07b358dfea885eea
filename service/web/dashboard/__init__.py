"""The admin dashboard: server-rendered pages over the same store and JobQueue calls as the REST API.

`/dashboard/` after a sign-in with an API token. Pages are Jinja templates; htmx (vendored in
static/, no CDN) swaps the parts that change; one small hand-written script follows jobs live.
"""

from __future__ import annotations

from flask import Flask

# The modules add their pages to the blueprint as they are imported.
from service.web.dashboard import admin, dragpush, graph_page, jobs, pages, repo_page, settings, web

__all__ = ["admin", "dragpush", "graph_page", "install", "jobs", "pages", "repo_page", "settings"]


def install(app: Flask) -> None:
    """Add the dashboard's pages to the app (and `/`, which leads to them)."""
    web.install_filters(app)
    app.register_blueprint(web.bp)
