"""The commit graph's lanes and lines, on small histories made by hand in git's order (children first)."""

from __future__ import annotations

from typing import Any

from service.web.dashboard.graph import BRANCH, MERGE, STRAIGHT, Graph, lay_out


def commit(sha: str, *parents: str, refs: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    return {"sha": sha, "parents": list(parents), "refs": list(refs)}


def shape(graph: Graph) -> list[tuple[str, int, set[tuple[int, int, str]]]]:
    """Each row as (sha, its lane, its lines down to the next row)."""
    return [(row.commit["sha"], row.lane, {(e.start, e.end, e.kind) for e in row.edges}) for row in graph.rows]


def test_a_linear_history_is_one_lane_of_straight_lines() -> None:
    graph = lay_out([commit("c", "b"), commit("b", "a"), commit("a")])
    assert shape(graph) == [("c", 0, {(0, 0, STRAIGHT)}), ("b", 0, {(0, 0, STRAIGHT)}), ("a", 0, set())]
    assert graph.lanes == 1


def test_a_branch_and_its_merge() -> None:
    graph = lay_out([commit("m", "a", "b"), commit("a", "o"), commit("b", "o"), commit("o")])
    assert shape(graph) == [
        ("m", 0, {(0, 0, STRAIGHT), (0, 1, MERGE)}),  # the merge opens a lane for its second parent
        ("a", 0, {(0, 0, STRAIGHT), (1, 1, STRAIGHT)}),
        ("b", 1, {(0, 0, STRAIGHT), (1, 0, BRANCH)}),  # b left main's line at o: back into lane 0
        ("o", 0, set()),
    ]
    assert graph.lanes == 2


def test_an_octopus_merge_opens_a_lane_per_parent() -> None:
    graph = lay_out([commit("m", "a", "b", "c"), commit("a", "o"), commit("b", "o"), commit("c", "o"), commit("o")])
    assert shape(graph) == [
        ("m", 0, {(0, 0, STRAIGHT), (0, 1, MERGE), (0, 2, MERGE)}),
        ("a", 0, {(0, 0, STRAIGHT), (1, 1, STRAIGHT), (2, 2, STRAIGHT)}),
        ("b", 1, {(0, 0, STRAIGHT), (1, 0, BRANCH), (2, 2, STRAIGHT)}),
        ("c", 2, {(0, 0, STRAIGHT), (2, 0, BRANCH)}),
        ("o", 0, set()),
    ]
    assert graph.lanes == 3


def test_two_roots_each_end_their_lane() -> None:
    graph = lay_out([commit("t1", "r1"), commit("t2", "r2"), commit("r1"), commit("r2")])
    assert shape(graph) == [
        ("t1", 0, {(0, 0, STRAIGHT)}),
        ("t2", 1, {(0, 0, STRAIGHT), (1, 1, STRAIGHT)}),
        ("r1", 0, {(1, 1, STRAIGHT)}),  # a root: nothing goes down from it
        ("r2", 1, set()),
    ]
    merged = lay_out([commit("m", "a", "b"), commit("a"), commit("b")])  # unrelated histories merged
    assert shape(merged) == [("m", 0, {(0, 0, STRAIGHT), (0, 1, MERGE)}), ("a", 0, {(1, 1, STRAIGHT)}),
                             ("b", 1, set())]


def test_a_criss_cross_merge() -> None:
    graph = lay_out([commit("a2", "a1", "b1"), commit("b2", "b1", "a1"), commit("a1", "o"), commit("b1", "o"),
                     commit("o")])
    assert shape(graph) == [
        ("a2", 0, {(0, 0, STRAIGHT), (0, 1, MERGE)}),
        ("b2", 2, {(0, 0, STRAIGHT), (1, 1, STRAIGHT), (2, 1, BRANCH), (2, 0, MERGE)}),  # joins both lanes
        ("a1", 0, {(0, 0, STRAIGHT), (1, 1, STRAIGHT)}),
        ("b1", 1, {(0, 0, STRAIGHT), (1, 0, BRANCH)}),
        ("o", 0, set()),
    ]
    assert graph.lanes == 3


def test_a_lane_freed_is_taken_again_and_lines_past_the_last_row_go_on() -> None:
    graph = lay_out([commit("x", "o"), commit("y", "p"), commit("o", "q")])  # p and q are not listed
    assert shape(graph) == [("x", 0, {(0, 0, STRAIGHT)}), ("y", 1, {(0, 0, STRAIGHT), (1, 1, STRAIGHT)}),
                            ("o", 0, {(0, 0, STRAIGHT), (1, 1, STRAIGHT)})]


def branch(name: str) -> dict[str, Any]:
    return {"kind": "branch", "name": name, "remote": None}


def remote(name: str, of: str = "origin") -> dict[str, Any]:
    return {"kind": "remote_branch", "name": name, "remote": of}


def test_commits_on_no_remote_are_local_only_and_commits_on_the_upstream_alone_are_behind() -> None:
    # main has l2, l1 of its own; origin/main moved on to u1; o is on both; topic is on origin as it is.
    graph = lay_out([commit("l2", "l1", refs=(branch("main"),)), commit("u1", "o", refs=(remote("main"),)),
                     commit("l1", "o"), commit("t", "o", refs=(branch("topic"), remote("topic", "fork"))),
                     commit("o")],
                    {"main": "origin/main", "topic": "fork/topic"})
    marked = {row.commit["sha"]: (row.local_only, row.behind) for row in graph.rows}
    assert marked == {"l2": (True, False), "l1": (True, False), "u1": (False, True), "t": (False, False),
                      "o": (False, False)}


def test_behind_is_per_branch_another_branch_having_it_does_not_count() -> None:
    # dev is at o and tracks origin/main at u; main is at u: u is behind for dev all the same.
    graph = lay_out([commit("u", "o", refs=(branch("main"), remote("main"))), commit("o", refs=(branch("dev"),))],
                    {"dev": "origin/main", "main": "origin/main"})
    assert [(row.local_only, row.behind) for row in graph.rows] == [(False, True), (False, False)]
