"""app.cache on a real Redis: stamps, bumps after commit, the journal, a Redis that lost its data."""

from __future__ import annotations

from app import cache
from app.extensions import rds


def counting(value: str):
    calls: list[int] = []

    def render() -> str:
        calls.append(1)
        return f"{value} #{len(calls)}"

    return render, calls


def test_a_fragment_is_rendered_once_until_a_dependency_moves(db):
    render, calls = counting("pane")
    deps = [("church", 1), ("conversation", 1, 7)]
    assert cache.fragment("t:pane", deps, 60, render) == "pane #1"
    assert cache.fragment("t:pane", deps, 60, render) == "pane #1"
    cache.publish([("conversation", 1, 8)])  # another item of the same collection
    assert cache.fragment("t:pane", deps, 60, render) == "pane #1"
    cache.publish([("conversation", 1, 7)])
    assert cache.fragment("t:pane", deps, 60, render) == "pane #2"
    cache.publish([("church", 1)])
    assert cache.fragment("t:pane", deps, 60, render) == "pane #3"
    assert len(calls) == 3


def test_one_lookup_reads_every_value_and_version(db):
    cache.fragment("t:a", [("staff", 1)], 60, lambda: "A")
    cache.fragment("t:b", [("templates", 1)], 60, lambda: "B")
    found = cache.lookup({"t:a": [("staff", 1)], "t:b": [("templates", 1)]}, extra=[("conversation", 1)])
    assert found.entries["t:a"].value == "A" and found.entries["t:b"].value == "B"
    assert found.versions[("conversation", 1)] == 0
    assert cache.fragment("t:a", [("staff", 1)], 60, lambda: "not rendered", found) == "A"


def test_bumps_wait_for_the_commit_and_a_rollback_drops_them(db):
    db.session.execute(db.text("SELECT 1"))  # writers bump inside their transaction
    cache.bump(("church", 5))
    assert cache.version(("church", 5)) == 0
    db.session.commit()
    assert cache.version(("church", 5)) == 1
    db.session.execute(db.text("SELECT 1"))  # a transaction is open again
    cache.bump(("church", 5))
    db.session.rollback()
    db.session.commit()
    assert cache.version(("church", 5)) == 1


def test_a_collection_moves_once_per_commit_with_its_items(db):
    cache.bump(("conversation", 2, 10), ("conversation", 2, 11), ("conversation", 2))
    db.session.commit()
    assert cache.version(("conversation", 2)) == 1
    assert cache.version(("conversation", 2, 10)) == 1
    assert cache.changed_since(("conversation", 2), 0) == (1, [10, 11])
    assert cache.changed_since(("conversation", 2), 1) == (1, [])


def test_the_journal_says_when_it_cannot_know(db):
    for i in range(cache.JOURNAL_KEPT + 5):
        cache.publish([("conversation", 3, i)])
    current, changed = cache.changed_since(("conversation", 3), 1)
    assert current == cache.JOURNAL_KEPT + 5 and changed is None
    # An item trimmed out of the journal takes the version of the last one trimmed: a re-render,
    # never a stale value. One never moved takes it too, once anything was trimmed.
    assert cache.version(("conversation", 3, 0)) == 5
    assert cache.version(("conversation", 3, 10_000)) == 5
    assert cache.version(("conversation", 3, 6)) == 7


def test_a_redis_that_lost_its_data_never_serves_an_old_value(db):
    loads: list[int] = []

    def load() -> str:
        loads.append(1)
        return f"copy {len(loads)}"

    assert cache.remember("t:identity", [("user", 1)], 60, load) == "copy 1"
    assert cache.remember("t:identity", [("user", 1)], 60, load) == "copy 1"
    rds.client.flushdb()  # every version is back to 0, as when the value was remembered
    assert cache.remember("t:identity", [("user", 1)], 60, load) == "copy 2"
