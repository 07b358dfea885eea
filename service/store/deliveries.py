"""Webhook deliveries: each recorded once per forge and delivery id, with the jobs it made."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from service.store.db import Database
from service.store.tables import deliveries, utcnow

Row = dict[str, Any]


class DeliveryStore:
    def __init__(self, db: Database):
        self.db = db

    def record(self, forge: str, delivery_id: str, event: str) -> tuple[Row, bool]:
        """Record a delivery; if it was seen before, return the first record and False."""
        try:
            with self.db.tx(write=True) as conn:
                conn.execute(insert(deliveries).values(
                    forge=forge, delivery_id=delivery_id, event=event, job_ids=[], received_at=utcnow()))
            new = True
        except IntegrityError:
            new = False
        with self.db.tx() as conn:
            row = conn.execute(select(deliveries).where(
                deliveries.c.forge == forge, deliveries.c.delivery_id == delivery_id)).mappings().one()
        return dict(row), new

    def outcome(self, row_id: int, job_ids: list[int], ignored: str | None) -> None:
        with self.db.tx(write=True) as conn:
            conn.execute(update(deliveries).where(deliveries.c.id == row_id)
                         .values(job_ids=job_ids, ignored=ignored))
