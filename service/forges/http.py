"""What every fork driver shares: one error hierarchy, an ETag-revalidating HTTP session, URL helpers."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from service.outbound import CheckedAdapter, refusal

TIMEOUT = 15.0  # the web request waits for this; forges that take longer are reported unreachable
USER_AGENT = "gitferry"


class ForgeError(Exception):
    """The forge's API did not give the fork list; `message` is safe to show (no token)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ForgeUnavailable(ForgeError):
    """Unreachable, timed out, 5xx or an answer we cannot read."""


class ForgeHostRefused(ForgeUnavailable):
    """Nothing was connected to: the API's host is local or private and local remotes are not allowed."""


class ForgeTokenRefused(ForgeError):
    """The forge rejected the configured token (401, or 403 that is not a rate limit)."""


class ForgeNotFound(ForgeError):
    """The forge does not know the repository (or hides it from this token)."""


class ForgeRateLimited(ForgeError):
    """The forge asks us to wait; `retry_after` seconds from its own headers, never waited out."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def retry_after(headers: Mapping[str, str], default: int = 60) -> int:
    """Seconds to wait from Retry-After, or a reset time (X-RateLimit-Reset, RateLimit-Reset)."""
    lower = {k.lower(): v for k, v in headers.items()}
    value = (lower.get("retry-after") or "").strip()
    if value:
        if value.isdigit():
            return max(1, int(value))
        try:
            return max(1, int(parsedate_to_datetime(value).timestamp() - time.time()) + 1)
        except (TypeError, ValueError):
            pass
    for key in ("x-ratelimit-reset", "ratelimit-reset"):
        reset = (lower.get(key) or "").strip()
        if reset.isdigit():
            seconds = int(reset)
            # GitHub and GitLab send an epoch time; the IETF draft header sends seconds from now.
            return max(1, seconds - int(time.time()) + 1 if seconds > 10**9 else seconds)
    return default


def is_rate_limited(status: int, headers: Mapping[str, str]) -> bool:
    lower = {k.lower(): v for k, v in headers.items()}
    if status == 429:
        return True
    remaining = lower.get("x-ratelimit-remaining", lower.get("ratelimit-remaining"))
    return status == 403 and (remaining == "0" or "retry-after" in lower)


def error_for(status: int, headers: Mapping[str, str], message: str, forge: str) -> ForgeError:
    """The ForgeError an HTTP failure stands for."""
    message = " ".join(str(message or "").split())[:300] or f"HTTP {status}"
    if is_rate_limited(status, headers):
        return ForgeRateLimited(f"{forge} rate limit reached: {message}", retry_after(headers))
    if status in (401, 403):
        return ForgeTokenRefused(f"{forge} refused the token: {message}")
    if status == 404:
        return ForgeNotFound(f"{forge} does not know this repository (or hides it from the token): {message}")
    return ForgeUnavailable(f"{forge} answered {status}: {message}")


def response_message(response: requests.Response) -> str:
    """The forge's own error message from a JSON error body, else the status text."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.reason or ""
    for path in (("message",), ("error", "message"), ("error",), ("errors", 0, "message"), ("errorMessages", 0)):
        value: Any = body
        for key in path:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                value = None
                break
        if isinstance(value, str) and value:
            return value
    return response.reason or ""


class _EtagStore:
    """Bodies of GET answers by URL and credential, with their ETag; bounded, shared by threads."""

    def __init__(self, size: int = 512):
        self.size = size
        self.entries: OrderedDict[tuple[str, str], tuple[str, bytes, dict[str, str]]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> tuple[str, bytes, dict[str, str]] | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def put(self, key: tuple[str, str], entry: tuple[str, bytes, dict[str, str]]) -> None:
        with self.lock:
            self.entries[key] = entry
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)


ETAGS = _EtagStore()


class EtagAdapter(CheckedAdapter):
    """Revalidates GETs with If-None-Match and turns the forge's 304 into the remembered 200;
    connects only where the remote allowlist lets it (service.outbound).

    Works under every client library that talks through requests, one page at a time; a 304
    costs GitHub and GitLab users nothing of their rate limit.
    """

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if request.method != "GET" or not request.url:
            return super().send(request, **kwargs)
        auth = request.headers.get("Authorization", "") or request.headers.get("PRIVATE-TOKEN", "")
        key = (request.url, hashlib.sha256(auth if isinstance(auth, bytes) else auth.encode()).hexdigest())
        cached = ETAGS.get(key)
        if cached is not None:
            request.headers["If-None-Match"] = cached[0]
        response = super().send(request, **kwargs)
        if response.status_code == 304 and cached is not None:
            response.status_code = 200
            response._content = cached[1]
            for name, value in cached[2].items():
                response.headers.setdefault(name, value)
            response.headers["X-Gitferry-Revalidated"] = "1"
        elif response.status_code == 200 and response.headers.get("ETag"):
            kept = {k: v for k, v in response.headers.items() if k.lower() in ("content-type", "link")}
            ETAGS.put(key, (response.headers["ETag"], response.content, kept))
        return response


def new_session() -> requests.Session:
    """A requests session with the ETag adapter and no retries (a rate limit is never waited out)."""
    session = requests.Session()
    session.trust_env = False  # a proxy or .netrc from the environment must not see the token
    session.headers["User-Agent"] = USER_AGENT
    adapter = EtagAdapter(max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def http_get(session: requests.Session, url: str, forge: str, **kwargs: Any) -> requests.Response:
    """GET `url`; any failure becomes a ForgeError."""
    try:
        response = session.get(url, timeout=TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        raise unreachable(forge, exc) from None
    if response.status_code >= 400:
        raise error_for(response.status_code, response.headers, response_message(response), forge)
    return response


def unreachable(forge: str, exc: BaseException) -> ForgeUnavailable:
    refused = refusal(exc)
    if refused:
        return ForgeHostRefused(f"{forge} is not reached: {refused}")
    # The exception text of a connection error names the URL, never the token (it travels in headers).
    return ForgeUnavailable(f"{forge} is unreachable: {type(exc).__name__}")


def json_of(response: requests.Response, forge: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ForgeUnavailable(f"{forge} answered with something that is not JSON") from None


def plain_clone_url(url: str) -> str:
    """`url` without a user name (Bitbucket and Azure put one in https clone links)."""
    if not url or "://" not in url:
        return url or ""
    parts = urlsplit(url)
    if not parts.scheme.startswith("http") or "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def repo_path(path: str, api_url: str = "") -> list[str]:
    """Segments of a remote URL's path without '.git' and without the instance's own path prefix."""
    segments = [s for s in path.strip("/").split("/") if s]
    prefix = [s for s in urlsplit(api_url).path.strip("/").split("/") if s] if "://" in api_url else []
    if prefix and segments[: len(prefix)] == prefix:
        segments = segments[len(prefix):]
    if segments and segments[-1].endswith(".git"):
        segments[-1] = segments[-1][:-4]
    return segments


@contextmanager
def requests_errors(forge: str) -> Iterator[None]:
    """Turn a requests failure inside the block into the ForgeError it stands for."""
    try:
        yield
    except requests.HTTPError as exc:
        response = exc.response
        status = response.status_code if response is not None else 502
        headers = response.headers if response is not None else {}
        raise error_for(status, headers, str(exc), forge) from None
    except requests.RequestException as exc:
        raise unreachable(forge, exc) from None
