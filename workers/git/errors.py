"""GitError and the classification of git's failures into stable codes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# userinfo in any URL-looking token: scheme://user[:pass]@host
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s'\"]+@")

# Order matters: an HTTP 403 also says "unable to access", a missing repo also says
# "Could not read from remote repository".
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "auth",
        re.compile(
            r"Authentication failed|could not read (Username|Password)|"
            r"returned error: 40[13]|Permission denied \(|Host key verification failed|"
            r"terminal prompts disabled|Invalid username or password",
            re.IGNORECASE,
        ),
    ),
    (
        "not_found",
        re.compile(
            r"Repository not found|does not appear to be a git repository|"
            r"returned error: 404|fatal: repository '[^']*' not found",
            re.IGNORECASE,
        ),
    ),
    (
        "invalid",
        re.compile(r"transport '[^']*' not allowed|protocol '[^']*' is not supported"),
    ),
    (
        "corrupt",
        re.compile(
            r"not a git repository|bad object|is corrupt|corrupt (loose|packed)|"
            r"missing (blob|tree|commit|object)|invalid sha1 pointer|bad tree object|"
            r"unable to read tree|packfile .* cannot be accessed|broken link|"
            r"HEAD is not a symbolic ref|invalid gitfile",
            re.IGNORECASE,
        ),
    ),
    (
        "network",
        re.compile(
            r"Could not resolve host|Connection refused|Connection timed out|"
            r"unable to access|Could not read from remote repository|early EOF|"
            r"remote end hung up|Operation too slow|Operation timed out|"
            r"Failed to connect|Network is unreachable|No route to host|RPC failed|"
            r"SSL certificate problem|connection reset",
            re.IGNORECASE,
        ),
    ),
)

_SUMMARY = {
    "timeout": "git took too long and was stopped",
    "auth": "authentication with the remote failed (check its credential)",
    "not_found": "the remote repository was not found",
    "network": "the remote could not be reached",
    "corrupt": "the clone is corrupt",
    "invalid": "invalid input",
    "git": "git failed",
}


class GitError(Exception):
    """Something stopped the git work; `code` says what, `message` is safe to show."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        command: Sequence[str] = (),
        returncode: int | None = None,
        stdout: str = "",
        stderr: str = "",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.command = list(command)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"GitError(code={self.code!r}, message={self.message!r})"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove userinfo from URLs and any known secret value from `text`."""
    text = _USERINFO.sub(r"\g<scheme>***@", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def classify(returncode: int | None, stderr: str) -> str:
    """Map a failed git call to an error code using git's C-locale stderr."""
    for code, pattern in _PATTERNS:
        if pattern.search(stderr):
            return code
    return "git"


def summarize(code: str, stderr: str) -> str:
    """One line for a user: what kind of failure, then git's own last fatal/error line."""
    detail = ""
    for line in reversed(stderr.replace("\r", "\n").splitlines()):
        line = line.strip()
        if line.startswith(("fatal:", "error:")):
            detail = line.split(":", 1)[1].strip()
            break
        if not detail and line and not line.startswith("hint:"):
            detail = line
    summary = _SUMMARY.get(code, _SUMMARY["git"])
    return f"{summary}: {detail}" if detail else summary
