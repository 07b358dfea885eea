"""Webhook intake: verify, parse to a ForgeEvent, record the delivery and its fetch jobs, answer."""

from __future__ import annotations

import json
import logging
import time

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from service.domain.forge import ForgeConfig
from service.domain.matching import event_keys
from service.domain.validation import InvalidValue, parse_url
from service.forge_config import effective_forges, forge_for_host
from service.forges.base import ForgeEvent, WebhookError
from service.forges.webhooks import WebhookDriver, drivers_for
from service.web.context import services
from service.web.errors import ApiError

bp = Blueprint("hooks", __name__)
log = logging.getLogger("gitferry.hooks")
# A fetch that is running or just ran makes the next one wait this long, so that a burst of
# pushes costs a handful of fetches; a push after a quiet spell is fetched at once.
DEBOUNCE_SECONDS = 0.5


@bp.post("/hooks/<endpoint>")
def receive(endpoint: str) -> ResponseReturnValue:
    driver = _driver(endpoint)
    if not driver.has_credentials(request.headers):
        raise ApiError(401, "unsigned", f"{driver.forge} delivery without signature or token")
    raw = request.get_data(cache=True)
    try:
        payload = json.loads(raw)
        event: ForgeEvent = driver.parse(request.headers, payload)
    except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[..."
        raise ApiError(400, "bad_json", "webhook body is not valid JSON") from exc
    except WebhookError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc
    forges = _forges()
    secret = _secret_for(event, forges)
    if not secret:
        raise ApiError(401, "no_secret", "no webhook secret is configured for this forge; deliveries are refused")
    if not driver.verify(request.headers, raw, secret):
        raise ApiError(401, "bad_signature", f"{driver.forge} signature or token does not match")
    if event.kind == "ping":
        return jsonify({"ok": True, "forge": driver.forge}), 200
    return _accept(event, forges)


_FORGES_TTL = 2.0


def _forges() -> tuple[ForgeConfig, ...]:
    """The forges in effect, read at most every couple of seconds: every delivery needs them."""
    svc = services()
    seen = svc.cache.get("forges")
    if seen is None or time.monotonic() - seen[0] > _FORGES_TTL:
        seen = svc.cache["forges"] = (time.monotonic(), effective_forges(svc.settings, svc.store))
    return seen[1]  # type: ignore[no-any-return]


def forget_forges() -> None:
    """Drop the cached forges (a forge was added or removed through this process)."""
    services().cache.pop("forges", None)


def _driver(endpoint: str) -> WebhookDriver:
    drivers = drivers_for(endpoint)
    if not drivers:
        raise ApiError(404, "not_found", f"no webhook endpoint for {endpoint[:40]!r}")
    for driver in drivers:
        if driver.accepts(request.headers):
            return driver
    raise ApiError(400, "unknown_sender", f"the headers are not those of a {endpoint} webhook")


def _hosts(event: ForgeEvent) -> list[str]:
    hosts = []
    for url in filter(None, (*event.clone_urls, event.web_url)):
        try:
            hosts.append(parse_url(url).host)
        except InvalidValue:
            continue
    return hosts


def _secret_for(event: ForgeEvent, forges: tuple[ForgeConfig, ...]) -> str:
    """The webhook secret of the forge the event's repository lives on, else the global one."""
    for host in _hosts(event):
        forge = forge_for_host(forges, host)
        if forge and forge.webhook_secret:
            return forge.webhook_secret
    return services().settings.webhook_secret


def _accept(event: ForgeEvent, forges: tuple[ForgeConfig, ...]) -> ResponseReturnValue:
    svc = services()
    ignored = _why_ignored(event)
    keys: set[str] = set()
    if ignored is None:
        name_hosts = [f.host for f in forges if f.kind == "bitbucket-cloud"] or ["bitbucket.org"]
        keys = event_keys(event.clone_urls, event.web_url, event.full_name,
                          name_hosts if event.forge == "bitbucket-cloud" else ())
    intake = svc.store.deliveries.record(event.forge, event.delivery_id, event.kind, keys, ignored,
                                         debounce=DEBOUNCE_SECONDS)
    # Sent only once the delivery and its jobs are committed: nothing answered 202 is lost.
    for job_id, repo_id, countdown in intake.to_send:
        svc.dispatcher.send(job_id, repo_id, countdown=countdown)
    if not intake.seen_before:  # the delivery itself is recorded; a log line for each new job is enough
        log.log(logging.INFO if intake.to_send else logging.DEBUG, "webhook_accepted forge=%s delivery=%s repo=%s "
                "jobs=%s", event.forge, event.delivery_id, event.full_name, intake.job_ids)
    return _answer(intake.job_ids, intake.ignored)


def _why_ignored(event: ForgeEvent) -> str | None:
    if event.kind != "push":
        return f"{event.kind} events are not acted on"
    if not event.changes:
        return "the push changed no refs"
    return None


_JSON = {"Content-Type": "application/json"}


def _answer(job_ids: list[int], ignored: str | None) -> ResponseReturnValue:
    # json.dumps rather than jsonify: every delivery is answered, and jsonify costs several times more
    body = {"jobs": job_ids} if job_ids else {"ignored": ignored or "nothing to do"}
    return json.dumps(body, separators=(",", ":")), 202, _JSON
