"""A small WebDriver BiDi client: enough to drive Debian's Firefox ESR in the dashboard's tests.

Firefox speaks WebDriver BiDi itself (no geckodriver, no Playwright build of its own): started with
`--remote-debugging-port`, it listens on ws://127.0.0.1:PORT/session for JSON commands
({"id", "method", "params"}) and answers each with {"id", "type": "success" | "error", ...}; events
({"type": "event", "method", "params"}) arrive on the same socket between the answers.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

FIREFOX = "/usr/bin/firefox-esr"  # Debian's Firefox ESR
# Written to the fresh profile's user.js before Firefox starts: no first-run pages, no update or
# telemetry, and every request that is not to this machine goes to a closed local port.
PREFS = {
    "browser.shell.checkDefaultBrowser": False, "browser.startup.page": 0,
    "browser.aboutwelcome.enabled": False, "app.update.disabledForTesting": True,
    "datareporting.policy.dataSubmissionEnabled": False, "toolkit.telemetry.reportingpolicy.firstRun": False,
    "network.proxy.type": 1, "network.proxy.http": "127.0.0.1", "network.proxy.http_port": 9,
    "network.proxy.ssl": "127.0.0.1", "network.proxy.ssl_port": 9, "network.proxy.no_proxies_on": "",
    "network.proxy.allow_hijacking_localhost": False, "network.trr.mode": 5, "network.dns.disablePrefetch": True,
    "network.captive-portal-service.enabled": False, "network.connectivity-service.enabled": False,
    "dom.push.connection.enabled": False, "services.settings.server": "http://127.0.0.1:9/v1",
}
_LISTENING = re.compile(r"WebDriver BiDi listening on (ws://\S+)")


class BidiError(AssertionError):
    """Firefox answered a command with an error, or a script threw."""


@dataclass(frozen=True)
class LogEntry:
    """A console message or a page error (CSP violations are page errors), as Firefox logged it."""

    level: str
    text: str


@contextmanager
def firefox(profile: Path, timeout: float = 30) -> Iterator[Firefox]:
    """Headless Firefox on a fresh profile, with a BiDi session whose log is collected; closed after."""
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "user.js").write_text("".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n"
                                             for k, v in PREFS.items()))
    log = profile.parent / "firefox.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([FIREFOX, "--headless", "--no-remote", "--profile", str(profile),
                                 "--remote-debugging-port=0", "about:blank"],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = _listening_url(log, proc, timeout)
        with connect(f"{url}/session", max_size=None, open_timeout=timeout) as socket:
            browser = Firefox(socket, timeout)
            browser.command("session.new", {"capabilities": {}})
            browser.command("session.subscribe", {"events": ["log.entryAdded"]})
            yield browser
            browser.command("browser.close", {})
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:  # it did not close: end it and its content processes
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _listening_url(log: Path, proc: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _LISTENING.search(log.read_text(errors="replace"))
        if found:
            return found.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"Firefox did not start its WebDriver BiDi server:\n{log.read_text(errors='replace')[-3000:]}")


class Firefox:
    """One BiDi session: commands in order, one at a time; log entries kept as they arrive."""

    def __init__(self, socket: ClientConnection, timeout: float):
        self.socket = socket
        self.timeout = timeout
        self.log: list[LogEntry] = []
        self._last_id = 0

    def command(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._last_id += 1
        self.socket.send(json.dumps({"id": self._last_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=self.timeout))
            if message.get("type") == "event":
                if message["method"] == "log.entryAdded":
                    self.log.append(LogEntry(message["params"]["level"], message["params"].get("text") or ""))
            elif message.get("id") == self._last_id:
                if message["type"] == "error":
                    raise BidiError(f"{method}: {message['error']}: {message.get('message')}")
                return message["result"]  # type: ignore[no-any-return]

    def new_tab(self, width: int = 1280, height: int = 800, user_context: str | None = None) -> Tab:
        """A tab in a user context of its own (its own cookies, so its own sign-in), or of the one given."""
        user_context = user_context or self.command("browser.createUserContext", {})["userContext"]
        context = self.command("browsingContext.create", {"type": "tab", "userContext": user_context})["context"]
        tab = Tab(self, context, user_context)
        tab.set_viewport(width, height)
        return tab

    def csp_violations(self) -> list[str]:
        return [entry.text for entry in self.log if "Content-Security-Policy" in entry.text]


class Tab:
    """A top-level browsing context, driven the way a person would: pointer clicks and key presses."""

    def __init__(self, browser: Firefox, context: str, user_context: str):
        self.browser = browser
        self.context = context
        self.user_context = user_context

    def _do(self, method: str, **params: Any) -> dict[str, Any]:
        return self.browser.command(method, {"context": self.context, **params})

    def navigate(self, url: str) -> None:
        self._do("browsingContext.navigate", url=url, wait="complete")

    def set_viewport(self, width: int, height: int) -> None:
        self._do("browsingContext.setViewport", viewport={"width": width, "height": height})

    def new_tab_like_this(self, width: int = 1280, height: int = 800) -> Tab:
        """Another tab with the same cookies (the same user context)."""
        return self.browser.new_tab(width, height, self.user_context)

    def close(self) -> None:
        self._do("browsingContext.close")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited when it is a promise)."""
        return self._script("script.evaluate", expression=expression)

    def call(self, function: str, *args: str | int | float | bool | None) -> Any:
        """Call a JavaScript function declaration in the page with plain arguments."""
        return self._script("script.callFunction", functionDeclaration=function,
                            arguments=[_local_value(arg) for arg in args])

    def _script(self, method: str, **params: Any) -> Any:
        answer = self.browser.command(method, {"target": {"context": self.context}, "awaitPromise": True, **params})
        if answer["type"] == "exception":
            raise BidiError(answer["exceptionDetails"]["text"])
        result = answer["result"]
        return result if result["type"] == "node" else _plain(result)

    def element(self, selector: str) -> dict[str, Any]:
        """The first element matching `selector`, scrolled to the middle of the view."""
        node = self.call("(s) => { const e = document.querySelector(s); e?.scrollIntoView({block: 'center'});"
                         " return e; }", selector)
        assert node is not None, f"no element matches {selector!r} on {self.evaluate('location.href')}"
        return node  # type: ignore[no-any-return]

    def _centre_of(self, selector: str) -> dict[str, Any]:
        return {"type": "element", "element": {"sharedId": self.element(selector)["sharedId"]}}

    def click(self, selector: str) -> None:
        """Move the mouse to the element's centre, press and release the left button."""
        origin = self._centre_of(selector)
        self._do("input.performActions", actions=[{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [{"type": "pointerMove", "x": 0, "y": 0, "origin": origin},
                        {"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}]}])

    def scroll(self, selector: str, right: int, down: int = 0) -> None:
        """Turn the mouse wheel over the element (as a trackpad swipe does)."""
        origin = self._centre_of(selector)
        self._do("input.performActions", actions=[{"type": "wheel", "id": "wheel", "actions": [
            {"type": "scroll", "x": 0, "y": 0, "deltaX": right, "deltaY": down, "origin": origin}]}])

    def type(self, selector: str, text: str) -> None:
        """Click into a field, then type `text` key by key."""
        self.click(selector)
        self.press(*text)

    def press(self, *keys: str) -> None:
        """Press and release each key in turn (a character, or a WebDriver key code such as "\\ue007", Enter)."""
        steps = [{"type": kind, "value": key} for key in keys for kind in ("keyDown", "keyUp")]
        self._do("input.performActions", actions=[{"type": "key", "id": "keyboard", "actions": steps}])

    def text(self, selector: str) -> str:
        return str(self.call("(s) => document.querySelector(s)?.textContent ?? ''", selector))

    def wait_until(self, condition: str, what: str, timeout: float = 20) -> Any:
        """Poll a JavaScript expression until it is truthy (a page being replaced counts as not yet)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(condition)
            except BidiError:  # the page navigated away in the middle of the evaluation
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                body = self.evaluate("document.body?.innerText ?? ''")
                raise AssertionError(f"timed out waiting until {what} ({condition}); the page says:\n{body[:2000]}")
            time.sleep(0.1)

    def screenshot(self, path: Path) -> None:
        """The whole document as a PNG."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self._do("browsingContext.captureScreenshot", origin="document")["data"]))


def _local_value(value: str | int | float | bool | None) -> dict[str, Any]:
    if value is None:
        return {"type": "null"}
    kind = {bool: "boolean", str: "string"}.get(type(value), "number")
    return {"type": kind, "value": value}


def _plain(remote: dict[str, Any]) -> Any:
    """A BiDi RemoteValue as a Python value (primitives, arrays and plain objects)."""
    kind, value = remote["type"], remote.get("value")
    if kind == "array":
        return [_plain(item) for item in value or []]
    if kind == "object":
        return {key: _plain(item) for key, item in value or []}
    return None if kind in ("undefined", "null") else value
