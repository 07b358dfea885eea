"""Webhook deliveries refused before they were read (no or a wrong signature or token).

A flood of forged deliveries must not fill the database: only the latest KEPT per forge kind stay,
the older ones deleted by the same transaction that records a new one. What is kept is what the
delivery's headers said of itself (event, delivery id: cut to their columns' size, as sent, for
the page to escape), why it was refused and where it came from; never its body or any header
that could carry a secret.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from service.domain.records import RefusedDelivery
from service.domain.types import utcnow
from service.store.db import Database
from service.store.sql import Sql, records
from service.store.tables import refused_deliveries

KEPT = 200  # refused deliveries kept per forge kind


def _column_text(value: str, size: int) -> str:
    """`value` as any database holds it: no NUL, no lone surrogate, at most `size` characters."""
    text = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")
    return text[:size]


class RefusedDeliveryStore:
    def __init__(self, db: Database, kept: int = KEPT):
        self.db = db
        self.kept = kept

    def add(self, forge: str, event: str, delivery_id: str, reason: str, sender: str) -> None:
        """Record a refused delivery and let go of the oldest past the latest `kept` of its forge."""
        row = {"forge": _column_text(forge, 30), "event": _column_text(event, 100),
               "delivery_id": _column_text(delivery_id, 200), "reason": _column_text(reason, 200),
               "sender": _column_text(sender, 100), "now": utcnow()}

        def work(conn: Connection) -> None:
            _ADD.run(conn, **row)
            _PRUNE.run(conn, forge=row["forge"], kept=self.kept)

        self.db.write_batched(work)

    def recent(self, forge: str | None = None, limit: int = 50) -> list[RefusedDelivery]:
        """The latest refused deliveries, newest first; of one forge kind if `forge`."""
        query = select(refused_deliveries).order_by(refused_deliveries.c.id.desc()).limit(limit)
        if forge:
            query = query.where(refused_deliveries.c.forge == forge)
        with self.db.read() as conn:
            return records(RefusedDelivery, conn.execute(query))

    def count(self, forge: str) -> int:
        with self.db.read() as conn:
            return int(_COUNT.run(conn, forge=forge).fetchone()[0])


_ADD = Sql("""
    INSERT INTO refused_deliveries (forge, event, delivery_id, reason, sender, received_at)
    VALUES (:forge, :event, :delivery_id, :reason, :sender, :now)""")
# Everything of the forge's from the (kept+1)-th newest down: one index range (forge, id).
_PRUNE = Sql("""
    DELETE FROM refused_deliveries WHERE forge = :forge AND id <= (
        SELECT id FROM refused_deliveries WHERE forge = :forge ORDER BY id DESC LIMIT 1 OFFSET :kept)""")
_COUNT = Sql("SELECT count(*) FROM refused_deliveries WHERE forge = :forge")
