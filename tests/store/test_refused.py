"""Refused webhook deliveries on SQLite and PostgreSQL: kept newest first, the latest KEPT per forge only."""

from __future__ import annotations

from service.store import Store
from service.store.refused import KEPT


def test_a_flood_of_refused_deliveries_keeps_only_the_latest_of_each_forge(store: Store) -> None:
    store.refused.add("gitlab", "Push Hook", "gl-1", "bad signature", "192.0.2.7")
    for n in range(1000):
        store.refused.add("github", "push", f"flood-{n}", "bad signature", "198.51.100.9")
    assert store.refused.count("github") == KEPT
    kept = store.refused.recent("github", limit=1000)
    assert [r.delivery_id for r in kept] == [f"flood-{n}" for n in range(999, 999 - KEPT, -1)]
    # another forge's refusals are not pushed out by this one's flood
    assert [(r.forge, r.delivery_id, r.sender) for r in store.refused.recent("gitlab")] == [
        ("gitlab", "gl-1", "192.0.2.7")]
    assert store.refused.recent(limit=2)[0].delivery_id == "flood-999"


def test_what_a_forger_sends_is_kept_as_any_database_holds_it(store: Store) -> None:
    store.refused.add("gitea", "push\x00<script>", "\ud800" + "x" * 500, "bad signature", "2001:db8::1")
    [kept] = store.refused.recent()
    assert kept.event == "push<script>" and len(kept.delivery_id) == 200 and "\ud800" not in kept.delivery_id
    assert (kept.reason, kept.sender) == ("bad signature", "2001:db8::1")
