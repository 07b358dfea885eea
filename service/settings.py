"""All settings, read once from GITFERRY_* variables and the optional forges TOML file."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from service.domain.forge import ForgeConfig
from service.domain.types import PullStrategy, utcnow
from service.forges.entries import ForgeEntryError, forge_from_entry


class SettingsError(Exception):
    """A setting has a value gitferry cannot start with; the message names it."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""
    broker_url: str = ""
    admin_token: str = field(default="", repr=False)
    webhook_secret: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)  # encrypts forge tokens stored through the API
    fetch_interval: int = 60
    allow_local_remotes: bool = False
    pull_strategy: str = PullStrategy.FF_OR_MERGE.value
    forges: tuple[ForgeConfig, ...] = ()
    git_timeout: float = 600.0
    job_timeout: float = 1800.0  # a job's git calls together; past it, the job fails (job_timeout)
    read_timeout: float = 10.0  # seconds a read of a clone (commits, compare) waits for its worker; then 503
    job_lease: float = 60.0  # a running job whose worker stops renewing this runs again
    database_wait: float = 60.0  # seconds a starting command waits for a database that is not up yet
    max_body_bytes: int = 25 * 1024 * 1024
    queue: str = "gitferry"
    worker_shards: int = 1  # each repo's jobs go to one of this many queues, so its clone stays on one worker
    git_author_name: str = "gitferry"
    git_author_email: str = "gitferry@localhost"
    log_level: str = "INFO"
    db_connect_timeout: int = 5  # seconds PostgreSQL may take to accept a connection (or answer a ping)
    db_statement_timeout: int = 10  # seconds a statement may run; 0: no limit
    min_free_bytes: int = 100 * 1024 * 1024  # less free in the data dir and /healthz says unhealthy
    auth_failures: int = 20  # wrong tokens an address may send per window before it gets 429; 0: no limit
    auth_window: int = 60  # seconds
    proxy_hops: int = 0  # reverse proxies in front whose X-Forwarded-For names the client
    backup_retention_days: int = 30  # backups older than this are not listed, and workers delete them

    def __post_init__(self) -> None:
        data_dir = Path(self.data_dir).absolute()
        object.__setattr__(self, "data_dir", data_dir)
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{data_dir / 'gitferry.sqlite'}")
        if not self.broker_url:
            object.__setattr__(self, "broker_url", f"sqla+sqlite:///{data_dir / 'broker.sqlite'}")

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url.startswith("sqla+")

    def queue_for(self, repo_id: int) -> str:
        """The worker queue of a repo: with shards, always the same one for the same repo."""
        return self.queue if self.worker_shards == 1 else f"{self.queue}.{repo_id % self.worker_shards}"

    def shard_queues(self, shard: str) -> list[str]:
        """Queues a worker started with `--shard` consumes ("all" or a number)."""
        if self.worker_shards == 1:
            return [self.queue]
        if shard == "all":
            return [f"{self.queue}.{i}" for i in range(self.worker_shards)]
        if not shard.isdigit() or int(shard) >= self.worker_shards:
            raise SettingsError(f"--shard must be all or 0..{self.worker_shards - 1}")
        return [f"{self.queue}.{shard}"]

    @property
    def repos_dir(self) -> Path:
        return self.data_dir / "repos"

    @property
    def backups_kept_since(self) -> datetime:
        """Backups made before this are past retention."""
        return utcnow() - timedelta(days=self.backup_retention_days)

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from `env` (default os.environ); raise SettingsError naming a bad value."""
    source = os.environ if env is None else env

    def get(key: str, default: str = "") -> str:
        return source.get(f"GITFERRY_{key}", default).strip()

    strategy = get("PULL_STRATEGY", PullStrategy.FF_OR_MERGE.value)
    if strategy not in {s.value for s in PullStrategy}:
        raise SettingsError(f"GITFERRY_PULL_STRATEGY={strategy!r}: use ff-or-merge, ff-only or rebase")
    config = get("CONFIG")
    kwargs: dict[str, object] = dict(
        data_dir=Path(get("DATA_DIR", "var")),
        database_url=get("DATABASE_URL"),
        broker_url=get("BROKER_URL"),
        admin_token=get("ADMIN_TOKEN"),
        webhook_secret=get("WEBHOOK_SECRET"),
        secret_key=get("SECRET_KEY"),
        fetch_interval=_int(get, "FETCH_INTERVAL", 60, minimum=0),
        allow_local_remotes=_bool(get, "ALLOW_LOCAL_REMOTES"),
        pull_strategy=strategy,
        forges=load_forges(Path(config)) if config else (),
        git_timeout=float(_int(get, "GIT_TIMEOUT", 600, minimum=1)),
        job_timeout=float(_int(get, "JOB_TIMEOUT", 1800, minimum=1)),
        job_lease=float(_int(get, "JOB_LEASE", 60, minimum=1)),
        read_timeout=float(_int(get, "READ_TIMEOUT", 10, minimum=1)),
        database_wait=float(_int(get, "DATABASE_WAIT", 60, minimum=0)),
        max_body_bytes=_int(get, "MAX_BODY_BYTES", 25 * 1024 * 1024, minimum=1024),
        queue=get("QUEUE", "gitferry") or "gitferry",
        worker_shards=_int(get, "WORKER_SHARDS", 1, minimum=1),
        git_author_name=get("GIT_AUTHOR_NAME", "gitferry") or "gitferry",
        git_author_email=get("GIT_AUTHOR_EMAIL", "gitferry@localhost") or "gitferry@localhost",
        log_level=get("LOG_LEVEL", "INFO").upper() or "INFO",
        db_connect_timeout=_int(get, "DB_CONNECT_TIMEOUT", 5, minimum=2),  # psycopg waits 2 s at least
        db_statement_timeout=_int(get, "DB_STATEMENT_TIMEOUT", 10, minimum=0),
        min_free_bytes=_int(get, "MIN_FREE_MB", 100, minimum=0) * 1024 * 1024,
        auth_failures=_int(get, "AUTH_FAILURES", 20, minimum=0),
        auth_window=_int(get, "AUTH_WINDOW", 60, minimum=1),
        proxy_hops=_int(get, "PROXY_HOPS", 0, minimum=0),
        backup_retention_days=_int(get, "BACKUP_RETENTION_DAYS", 30, minimum=1),
    )
    if kwargs["admin_token"] and len(str(kwargs["admin_token"])) < 16:
        raise SettingsError("GITFERRY_ADMIN_TOKEN must be at least 16 characters")
    if kwargs["secret_key"] and len(str(kwargs["secret_key"])) < 16:
        raise SettingsError("GITFERRY_SECRET_KEY must be at least 16 characters")
    broker = str(kwargs["broker_url"])
    if broker and not broker.startswith(("redis://", "rediss://", "sqla+", "amqp://", "memory://")):
        raise SettingsError(f"GITFERRY_BROKER_URL: unsupported scheme in {broker.split(':')[0]!r}")
    return Settings(**kwargs)  # type: ignore[arg-type]


def load_forges(path: Path) -> tuple[ForgeConfig, ...]:
    """Read `[[forges]]` entries from the TOML file at `path`."""
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise SettingsError(f"GITFERRY_CONFIG: cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"GITFERRY_CONFIG: {path} is not valid TOML: {exc}") from exc
    entries = data.get("forges", [])
    if not isinstance(entries, list):
        raise SettingsError("GITFERRY_CONFIG: 'forges' must be an array of tables ([[forges]])")
    return tuple(parse_forge(entry, f"forges[{i}]") for i, entry in enumerate(entries))


def parse_forge(entry: object, where: str = "forge") -> ForgeConfig:
    """One forges entry, with each forge's well-known host and API URL filled in."""
    if not isinstance(entry, dict):
        raise SettingsError(f"{where}: must be a table")
    try:
        return forge_from_entry(entry)
    except ForgeEntryError as exc:
        raise SettingsError(f"{where}: {exc}") from None


def _int(get: Callable[[str, str], str], key: str, default: int, minimum: int) -> int:
    raw = get(key, str(default))
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"GITFERRY_{key}={raw!r}: must be a whole number") from exc
    if value < minimum:
        raise SettingsError(f"GITFERRY_{key}={value}: must be at least {minimum}")
    return value


def _bool(get: Callable[[str, str], str], key: str) -> bool:
    raw = get(key, "0").lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off", ""):
        return False
    raise SettingsError(f"GITFERRY_{key}={raw!r}: use 1 or 0")
