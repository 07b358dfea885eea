"""The Flask app factory."""

from __future__ import annotations

import logging

from flask import Flask, Response, request

from service.jobs import JobQueue, make_celery, open_store
from service.settings import Settings
from service.store import Store
from service.web import (
    api_backups,
    api_branches,
    api_commits,
    api_forges,
    api_ops,
    api_repos,
    api_rules,
    api_tokens,
    auth,
    dashboard,
    errors,
    health,
    hooks,
    openapi,
)
from service.web.context import Services, refuse_unstorable_url


def _options_say_no_content(response: Response) -> Response:
    """OPTIONS is answered by its Allow header alone (Flask's own answer is an empty text/html 200)."""
    if request.method == "OPTIONS" and response.status_code == 200 and not response.get_data():
        response.status_code = 204
        del response.headers["Content-Type"]
    return response


def create_app(settings: Settings, *, store: Store | None = None, jobs: JobQueue | None = None,
               migrate: bool = True, max_waits: int | None = None) -> Flask:
    """A web app over `settings`; `migrate` brings the database schema up to date first;
    `max_waits` calls at most wait on a job at once (JobQueue)."""
    app = Flask("gitferry")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    store = store or open_store(settings)
    if migrate:
        store.upgrade()
    jobs = jobs or JobQueue(make_celery(settings), store, settings, max_waits=max_waits)
    app.extensions["gitferry"] = Services(settings, store, jobs)
    errors.install(app)
    app.before_request(auth.forget_signer)
    app.teardown_request(auth.forget_signer)
    app.before_request(refuse_unstorable_url)
    app.after_request(_options_say_no_content)
    dashboard.install(app)
    for module in (api_repos, api_branches, api_backups, api_commits, api_forges, api_ops, api_rules, api_tokens,
                   health, hooks, openapi):
        app.register_blueprint(module.bp)
    app.wsgi_app = hooks.HookIntake(app)  # type: ignore[method-assign]
    logging.getLogger("gitferry").setLevel(settings.log_level)
    return app
