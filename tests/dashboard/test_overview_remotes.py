"""The overview's per-remote fetch times: each remote's last attempt and last success, from the remotes'
own records (what the API's remote view shows), in a few words with the full times on hover."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from service.domain.records import RemoteFetch
from service.domain.types import utcnow
from tests.dashboard.conftest import sign_in


def test_each_remote_says_when_it_was_last_fetched_and_since_when_it_fails(app: Any, client: Any) -> None:
    store = app.extensions["gitferry"].store
    repo = store.repos.create("acme/widgets", "https://example.com/acme/widgets.git", pull_strategy=None,
                              fetch_interval=None, protected_branches=[])
    store.repos.add_remote(repo.id, "upstream", "https://example.com/up/widgets.git")
    store.repos.add_remote(repo.id, "zz-new", "https://example.com/new/widgets.git")
    now = utcnow()
    store.repos.remotes_fetched(repo.id, (RemoteFetch("origin", now - timedelta(hours=3)),
                                          RemoteFetch("upstream", now - timedelta(hours=2, minutes=5))))
    for minutes in (30, 20, 2):
        store.repos.remotes_fetched(repo.id, (RemoteFetch("upstream", now - timedelta(minutes=minutes), "not_found",
                                                          'no <script>"repo"</script> there'),))
    store.repos.remotes_fetched(repo.id, (RemoteFetch("origin", now - timedelta(minutes=2, seconds=5)),))
    sign_in(client)
    page = client.get("/dashboard/").text
    cell = page.split('<ul class="remote-times">')[1].split("</ul>")[0]
    items = cell.split("<li ")[1:]
    assert [i.split('<bdi class="ref">')[1].split("</bdi>")[0] for i in items] == ["origin", "upstream", "zz-new"]
    origin, upstream, new = (_text(i) for i in items)
    assert origin == "origin ✓ 2 min ago"
    assert upstream == "upstream ✗ failing 3 times, last success 2 h ago"
    assert new == "zz-new not fetched yet"
    assert f"last success {(now - timedelta(hours=2, minutes=5)).strftime('%Y-%m-%d %H:%M')}" in items[1]
    assert "3 failed in a row: not_found: no &lt;script&gt;&#34;repo&#34;&lt;/script&gt; there" in items[1]
    assert "last attempt never; last success never" in items[2]


def _text(item: str) -> str:
    body = item.split(">", 1)[1]
    while "<" in body:
        before, _, rest = body.partition("<")
        body = before + rest.partition(">")[2]
    return body.split("</li")[0].strip()
