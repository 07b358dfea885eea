"""Forges: those of the TOML file and those added through the API (secrets encrypted at rest),
and the one cache of the forges in effect."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import RowMapping, delete, insert, select
from sqlalchemy.exc import IntegrityError

from service.domain.forge import ForgeConfig
from service.domain.types import utcnow
from service.store.db import Database
from service.store.jobs import FORGES_VERSION
from service.store.repos import NameTaken
from service.store.secrets import Sealer, SecretKeyMissing
from service.store.tables import forges

log = logging.getLogger("gitferry.forges")
Complete = Callable[..., ForgeConfig]
FRESH_FOR = 2.0  # seconds the forges in effect are used without asking whether they changed


class ForgeStore:
    def __init__(self, db: Database, sealer: Sealer, configured: tuple[ForgeConfig, ...],
                 complete: Complete = ForgeConfig):
        """`configured`: from GITFERRY_CONFIG, they win over stored ones of the same host.
        `complete`: makes a stored forge, with what its kind implies (its forge driver knows)."""
        self.db = db
        self.sealer = sealer
        self.configured = configured
        self.complete = complete
        self._lock = threading.Lock()
        self._in_effect: tuple[str, float, tuple[ForgeConfig, ...]] | None = None  # (version, read at, forges)

    def in_effect(self, version: str | None = None) -> tuple[ForgeConfig, ...]:
        """Every forge gitferry knows, read again when `version` (the forges' version read with
        a job) is not the one cached, or without one, when the cached ones are a few seconds old."""
        cached = self._in_effect
        if cached is not None and (cached[0] == version if version is not None
                                   else time.monotonic() - cached[1] < FRESH_FOR):
            return cached[2]
        with self.db.read() as conn:
            seen = str(FORGES_VERSION.run(conn).fetchone()[0])
            rows = conn.execute(select(forges).order_by(forges.c.host)).mappings().all()
        stored = tuple(self._opened(row) for row in rows)
        found = self.configured + tuple(f for f in stored if f.host not in {c.host for c in self.configured})
        with self._lock:
            self._in_effect = (seen, time.monotonic(), found)
        return found

    def forget(self) -> None:
        """A forge was added or removed through this process: read them again at the next use."""
        self._in_effect = None

    def stored(self) -> list[tuple[ForgeConfig, bool, bool]]:
        """Forges added through the API, without secrets: (forge, has token, has webhook secret)."""
        with self.db.read() as conn:
            rows = conn.execute(select(forges).order_by(forges.c.host)).mappings().all()
        return [(self._forge(row), bool(row["token_encrypted"]), bool(row["webhook_secret_encrypted"]))
                for row in rows]

    def add(self, forge: ForgeConfig) -> None:
        values = dict(kind=forge.kind, host=forge.host, api_url=forge.api_url, git_protocol=forge.git_protocol,
                      token_encrypted=self.sealer.seal(forge.token), username=forge.username,
                      webhook_secret_encrypted=self.sealer.seal(forge.webhook_secret), created_at=utcnow())
        try:
            with self.db.write() as conn:
                conn.execute(insert(forges).values(**values))
        except IntegrityError as exc:
            raise NameTaken(forge.host) from exc
        self.forget()

    def delete(self, host: str) -> bool:
        with self.db.write() as conn:
            deleted = bool(conn.execute(delete(forges).where(forges.c.host == host)).rowcount)
        self.forget()
        return deleted

    def _opened(self, row: RowMapping) -> ForgeConfig:
        """A stored forge with its secrets; without the right key, without them (and a warning)."""
        try:
            return self._forge(row, self.sealer.open(row["token_encrypted"]),
                               self.sealer.open(row["webhook_secret_encrypted"]))
        except SecretKeyMissing as exc:
            log.warning("forge_secrets_unreadable host=%s reason=%s", row["host"], exc)
            return self._forge(row)

    def _forge(self, row: RowMapping, token: str = "", webhook_secret: str = "") -> ForgeConfig:
        return self.complete(kind=row["kind"], host=row["host"], api_url=row["api_url"], token=token,
                             webhook_secret=webhook_secret, git_protocol=row["git_protocol"], username=row["username"])
