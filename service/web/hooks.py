"""Webhook intake: verify, parse to a ForgeEvent, record the delivery and its fetch jobs, answer.

Every push on every watched forge comes through here, so a delivery is answered straight from
WSGI (HookIntake, in front of Flask): Flask's dispatch around a request (request context, URL
matching, response object, teardown) cost as much CPU as verifying and recording a delivery.
The Flask rule stays, so that the app's URL map, its 405s and the OpenAPI document know the path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

from flask import Blueprint, Flask, request
from flask.typing import ResponseReturnValue
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request

from service.domain.forge import ForgeConfig, forge_for_host
from service.domain.matching import event_keys
from service.domain.validation import InvalidValue, parse_url, storable
from service.forges.base import ForgeEvent, WebhookDriver, WebhookError
from service.forges.registry import drivers_for, name_hosts
from service.forges.webhooks import header
from service.web.context import Services, body_bytes, services
from service.web.errors import ApiError, error_answer, error_body
from service.web.limits import client_address

bp = Blueprint("hooks", __name__)
log = logging.getLogger("gitferry.hooks")
# A fetch that is running or just ran makes the next one wait this long, so that a burst of
# pushes costs a handful of fetches; a push after a quiet spell is fetched at once.
DEBOUNCE_SECONDS = 0.5
# Why a delivery was refused (the 401's code), in the words the deliveries page shows after "refused: ".
REFUSALS = {"unsigned": "no signature or token", "bad_signature": "bad signature",
            "no_secret": "no webhook secret configured"}


Answer = tuple[int, str, dict[str, str]]  # status, JSON body, headers
_PREFIX = "/hooks/"


@bp.post(f"{_PREFIX}<endpoint>")
def hook(endpoint: str) -> ResponseReturnValue:
    """Reached only where HookIntake is not in front of the app."""
    status, body, headers = receive(services(), endpoint, request)
    return body, status, {**_JSON, **headers}


class HookIntake:
    """The WSGI app in front of Flask: POST /hooks/<endpoint> is answered here, all else by Flask."""

    def __init__(self, app: Flask):
        self.flask = app.wsgi_app
        self.svc: Services = app.extensions["gitferry"]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        endpoint = path[len(_PREFIX):]
        if environ.get("REQUEST_METHOD") != "POST" or not path.startswith(_PREFIX) or not endpoint \
                or "/" in endpoint:
            return self.flask(environ, start_response)
        try:
            status, body, headers = receive(self.svc, endpoint, Request(environ))
        except Exception as exc:  # each failure is answered as Flask's handlers answer it
            status, code, message, headers = error_answer(exc)
            body = _json(error_body(code, message))
        data = body.encode()
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, '')}",
                       [*_JSON.items(), ("Content-Length", str(len(data))), *headers.items()])
        return [data]


def receive(svc: Services, endpoint: str, req: Request) -> Answer:
    """Verify first, then parse: a delivery whose signature is wrong costs reading its body and one
    HMAC per webhook secret in effect, and nothing of it reaches a parser. A refused one is kept
    (what its headers say of it, why, from where: service/store/refused.py) and answered as before."""
    headers = cast(Mapping[str, str], req.headers)  # read with get(), as a Mapping is (case-insensitive)
    driver = _driver(endpoint, headers)
    try:
        return _verified(svc, driver, headers, req)
    except ApiError as exc:
        if exc.status == 401:
            _keep_refused(svc, driver, headers, req, exc.code)
        raise


def _verified(svc: Services, driver: WebhookDriver, headers: Mapping[str, str], req: Request) -> Answer:
    if not driver.has_credentials(headers):
        raise ApiError(401, "unsigned", f"{driver.forge} delivery without signature or token")
    raw = body_bytes(req, svc.settings.max_body_bytes)
    forges = svc.store.forges.in_effect()
    secrets = {f.webhook_secret for f in forges if f.webhook_secret} | {svc.settings.webhook_secret} - {""}
    if not secrets:
        raise ApiError(401, "no_secret", "no webhook secret is configured for this forge; deliveries are refused")
    signed_with = next((secret for secret in secrets if driver.verify(headers, raw, secret)), None)
    if signed_with is None:
        raise ApiError(401, "bad_signature", f"{driver.forge} signature or token does not match")
    event = _parsed(driver, headers, raw)
    if _secret_for(svc, event, forges) != signed_with:  # signed, but with another forge's secret
        raise ApiError(401, "bad_signature", f"{driver.forge} signature or token does not match")
    if event.kind == "ping":
        return 200, _json({"ok": True, "forge": driver.forge}), {}
    return _accept(svc, event, forges)


def _keep_refused(svc: Services, driver: WebhookDriver, headers: Mapping[str, str], req: Request,
                  code: str) -> None:
    """Record a refused delivery; failing to changes nothing of the answer."""
    try:
        svc.store.refused.add(driver.forge, header(headers, *driver.event_headers),
                              header(headers, *driver.delivery_headers), REFUSALS.get(code, code),
                              client_address(req, svc.settings.proxy_hops))
    except Exception as exc:  # the forge (or the forger) still gets its 401
        log.warning("refused_delivery_not_kept forge=%s error=%s", driver.forge, type(exc).__name__)


def _parsed(driver: WebhookDriver, headers: Mapping[str, str], raw: bytes) -> ForgeEvent:
    """The delivery's ForgeEvent; a 400 for a body its forge would not send."""
    try:
        event: ForgeEvent = driver.parse(headers, json.loads(raw))
    except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[..."
        raise ApiError(400, "bad_json", "webhook body is not valid JSON") from exc
    except WebhookError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc
    except (TypeError, KeyError, AttributeError) as exc:  # a shape no parser was written for
        raise ApiError(400, "bad_payload", f"the body is not one {driver.forge} sends") from exc
    if not all(map(storable, (event.delivery_id, event.kind, event.full_name, event.web_url, *event.clone_urls,
                               *(c.ref for c in event.changes)))):
        raise ApiError(400, "bad_payload", "the delivery holds a NUL character or an unpaired surrogate")
    return event


def _driver(endpoint: str, headers: Mapping[str, str]) -> WebhookDriver:
    drivers = drivers_for(endpoint)
    if not drivers:
        raise ApiError(404, "not_found", f"no webhook endpoint for {endpoint[:40]!r}")
    for driver in drivers:
        if driver.accepts(headers):
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


def _secret_for(svc: Services, event: ForgeEvent, forges: tuple[ForgeConfig, ...]) -> str:
    """The webhook secret of the forge the event's repository lives on, else the global one."""
    for host in _hosts(event):
        forge = forge_for_host(forges, host)
        if forge and forge.webhook_secret:
            return forge.webhook_secret
    return svc.settings.webhook_secret


def _accept(svc: Services, event: ForgeEvent, forges: tuple[ForgeConfig, ...]) -> Answer:
    ignored = _why_ignored(event)
    keys: set[str] = set()
    if ignored is None:
        keys = event_keys(event.clone_urls, event.web_url, event.full_name, name_hosts(event.forge, forges))
    # The jobs are sent once the delivery and its jobs are committed: nothing answered 202 is lost.
    intake = svc.jobs.deliver(event.forge, event.delivery_id, event.kind, keys, ignored, debounce=DEBOUNCE_SECONDS)
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


def _answer(job_ids: list[int], ignored: str | None) -> Answer:
    return 202, _json({"jobs": job_ids} if job_ids else {"ignored": ignored or "nothing to do"}), {}


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))
