"""Member search uses the indexes migrations 0002 and 0009 build (plans, never timings)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from app.people.keyset import Walk, page_query
from app.people.queries import MemberFilters, member_conditions


@pytest.fixture
def modest(db, church):
    """20,000 more members (set-based) and fresh statistics, so the planner sees a real table."""
    db.session.execute(
        text(
            """
            INSERT INTO members (church_id, first_name, last_name, phone_e164, email)
            SELECT :church, substr(md5(i::text), 1, 8), substr(md5((i * 7)::text), 1, 9),
                   '+1773' || lpad((2000000 + i * 37)::text, 7, '0'),
                   CASE WHEN i % 2 = 0 THEN substr(md5((i * 13)::text), 1, 10) || '@example.com' END
            FROM generate_series(1, 20000) AS i
            """
        ),
        {"church": church.id},
    )
    # What autovacuum does in life: merge GIN pending lists (their size weighs on every GIN plan).
    for index in ("ix_members_name_trgm", "ix_members_email_trgm", "ix_members_phone_trgm"):
        db.session.execute(text("SELECT gin_clean_pending_list(CAST(:i AS regclass))"), {"i": index})
    db.session.execute(text("ANALYZE members"))
    return church


def _plan(db, stmt, *, bitmap_only: bool = False) -> str:
    """EXPLAIN on the demo data; scans that 60 rows would rightly prefer are switched off."""
    compiled = stmt.compile(dialect=db.engine.dialect)
    db.session.execute(text("SET LOCAL enable_seqscan = off"))
    if bitmap_only:
        db.session.execute(text("SET LOCAL enable_indexscan = off"))
    rows = db.session.connection().exec_driver_sql(f"EXPLAIN {compiled.string}", compiled.params)
    return "\n".join(r[0] for r in rows)


@pytest.mark.parametrize(
    ("q", "index"),
    [
        (None, "ix_members_name_trgm"),
        ("gr", "ix_members_name_trgm"),
        ("@", "ix_members_email_trgm"),
        ("0142", "ix_members_phone_trgm"),
        ("(312) 555-0142", "uq_members_church_id_phone_e164"),
    ],
)
def test_search_after_the_window_uses_the_search_index(db, modest, login_as, q, index):
    owner = login_as("owner")
    if q is None:  # a generated name, as typed: one of 20,000 random ones
        q = db.session.scalar(text("SELECT first_name FROM members WHERE first_name ~ '^[0-9a-f]{8}$' LIMIT 1"))
    elif q == "@":  # a fragment of a generated email
        q = db.session.scalar(text("SELECT substr(email, 2, 7) FROM members WHERE email LIKE '%@example.com' LIMIT 1"))
    filters = MemberFilters(q=q)
    walk = Walk(filters.sort)
    # The page read from the matches alone (what a window holding too few falls back to).
    matches = page_query(walk, member_conditions(owner, filters), modest.id, 51, sparse=True)
    assert index in _plan(db, matches, bitmap_only=True)


def test_window_and_plain_list_read_the_sort_index(db, modest, login_as):
    owner = login_as("owner")
    for sort, index in (("name", "ix_members_church_id_name"), ("newest", "ix_members_church_id_created_at")):
        filters = MemberFilters(q="grace", sort=sort)
        walk = Walk(sort)
        statement = page_query(walk, member_conditions(owner, filters), modest.id, 51)
        plan = _plan(db, statement)
        # One statement: the window off the sort index, and behind a one-time filter on its
        # count, the page from the matches off the trigram index.
        assert index in plan
        assert "ix_members_name_trgm" in plan
        assert re.search(r"One-Time Filter: \(\(?\$\d+ < 51", plan)
        # The window reads only what the sort indexes INCLUDE (migration 0009): it can be an index-only
        # scan, which it is once autovacuum has marked the pages all-visible (none are, inside this
        # test's transaction, so plain index scans are ruled out to show it).
        db.session.execute(text("SET LOCAL enable_bitmapscan = off"))
        assert re.search(f"Index Only Scan (Backward )?using {index}", _plan(db, statement, bitmap_only=True))
        db.session.execute(text("RESET enable_bitmapscan"))
        db.session.execute(text("RESET enable_indexscan"))
        plain = MemberFilters(sort=sort)
        assert index in _plan(db, page_query(walk, member_conditions(owner, plain), modest.id, 51))


def test_list_totals_come_from_the_trigger_kept_counts(db, modest, login_as):
    from app.people.counts import count_members

    owner = login_as("owner")
    db.session.execute(
        text("UPDATE members SET opted_out_at = now() WHERE church_id = :c AND id % 7 = 0"), {"c": modest.id}
    )
    actual = dict(
        db.session.execute(
            text("SELECT opted_out_at IS NULL, count(*) FROM members WHERE church_id = :c GROUP BY 1"), {"c": modest.id}
        ).all()
    )
    assert count_members(owner, MemberFilters()).value == actual[True] + actual[False]
    assert count_members(owner, MemberFilters(status="subscribed")).value == actual[True]
    assert count_members(owner, MemberFilters(status="opted_out")).value == actual[False]
