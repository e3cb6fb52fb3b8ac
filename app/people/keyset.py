"""Keyset pages over members: sort keys, page tokens, and a plan that stays fast for any search.

A page is "the next N rows after this key" in one of the list's sorts, served by that sort's
(church_id, key…, id) index; there is no OFFSET, so page 2,000 costs what page 1 costs.

An ORDER BY … LIMIT over a filtered list has one trap. PostgreSQL may walk the sort index and
filter as it goes, betting that matches are spread evenly; for "wri" (the Wrights, all near the
end of the alphabet) that walk reads 97,000 rows to find 50. A filtered page is therefore read in
two bounded steps:

1. a window: the next WINDOW rows of the church in sort order, read off the sort index until the
   page is full, and the matches inside it. Broad searches ("ma", "example.net") and big groups
   fill a page here after a few hundred rows.
2. if the window held too few, the page read from the matches, with an ORDER BY the sort index
   cannot serve, so the plan starts from the search's own index (trigram GIN, group membership)
   and costs what the matches cost. Only sparse searches get here, and they have few matches.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, ColumnElement, Select, func, literal, select, tuple_
from sqlalchemy.sql import visitors
from sqlalchemy.sql.util import ClauseAdapter

from app.extensions import db
from app.models import Member
from app.models.people import WINDOW_INCLUDE

PAGE_SIZE = 50
# Rows of the church a window reads per condition: each condition (a search, a group, a branch, the
# leader's scope) thins the matches out again. Index-only, 3,000 rows cost about 2 ms.
WINDOW = 3000
# What the list's filters read, carried by both sort indexes (INCLUDE, migration 0009): a window
# reads them off the index alone.
WINDOW_COLUMNS = ("id", *WINDOW_INCLUDE)


def sort_keys(sort: str) -> tuple[list[ColumnElement], bool]:
    """The columns a sort orders by (ending in id, so the order is total) and whether it descends."""
    if sort in ("newest", "oldest"):
        return [Member.created_at, Member.id], sort == "newest"
    return [func.lower(Member.last_name), func.lower(Member.first_name), Member.id], sort == "-name"


def _opaque(keys: list[ColumnElement]) -> list[ColumnElement]:
    """The same values and order, written so that no index matches them (step 2 above)."""
    return [
        key + literal(timedelta(0)) if key is Member.created_at else key + 0 if key is Member.id else key.concat("")
        for key in keys
    ]


def encode_cursor(values: tuple[Any, ...]) -> str:
    """An opaque page token: the sort key of the row the next page starts after."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(token: str | None, sort: str) -> tuple[Any, ...] | None:
    """The sort key inside a page token, or None for a missing or tampered one (the first page then)."""
    if not token:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if sort in ("newest", "oldest"):
            created, member_id = values
            return datetime.fromisoformat(created), int(member_id)
        last, first, member_id = values
        if not isinstance(last, str) or not isinstance(first, str):
            return None
        return last, first, int(member_id)
    except (ValueError, TypeError, AttributeError, json.JSONDecodeError):
        return None


@dataclass(frozen=True)
class Walk:
    """Which way one page request reads the sort: from which key, and in which direction."""

    keys: list[ColumnElement]
    start: tuple[Any, ...] | None
    descending: bool  # the direction rows are read in (the display order is restored afterwards)
    backwards: bool  # a "previous page" request

    @classmethod
    def plan(cls, sort: str, after: str | None, before: str | None) -> Walk:
        keys, descending = sort_keys(sort)
        after_key, before_key = decode_cursor(after, sort), decode_cursor(before, sort)
        backwards = before_key is not None and after_key is None
        return cls(keys, before_key if backwards else after_key, descending != backwards, backwards)

    def beyond(self, key: tuple[Any, ...]) -> ColumnElement[bool]:
        """Rows strictly after `key` in reading order."""
        row = tuple_(*self.keys)
        return row < tuple_(*key) if self.descending else row > tuple_(*key)

    def up_to(self, key: tuple[Any, ...]) -> ColumnElement[bool]:
        """Rows up to and including `key` in reading order."""
        row = tuple_(*self.keys)
        return row >= tuple_(*key) if self.descending else row <= tuple_(*key)

    def ordered(self, stmt: Select, *, opaque: bool = False) -> Select:
        columns = _opaque(self.keys) if opaque else self.keys
        return stmt.order_by(*(c.desc() if self.descending else c.asc() for c in columns))


def page_statement(
    walk: Walk, stmt: Select, limit: int, *, start: tuple | None = None, upto: tuple | None = None, opaque=False
) -> Select:
    """`stmt` from `start` (exclusive) to `upto` (inclusive), in reading order, at most `limit` rows."""
    if start is not None:
        stmt = stmt.where(walk.beyond(start))
    if upto is not None:
        stmt = stmt.where(walk.up_to(upto))
    return walk.ordered(stmt.add_columns(*walk.keys), opaque=opaque).limit(limit)


@dataclass(frozen=True)
class KeysetPage:
    """One page of rows in display order, with the tokens of the pages on either side."""

    rows: list[Any]
    next_cursor: str | None
    prev_cursor: str | None


def window_statement(
    walk: Walk, conditions: list[ColumnElement[bool]], church_id: int, want: int, size: int = WINDOW
) -> Select:
    """Step 1: the matches among the next WINDOW rows of the church, in reading order.

    The window is a LIMIT subquery, so PostgreSQL has to read it off the sort index and filter
    only those rows: bounded work, whatever it believes about how many rows match. It reads just
    the columns the sort indexes carry (WINDOW_COLUMNS), so the read is an index-only scan: a few
    dozen index pages for 3,000 rows instead of one heap page per row (the heap is not in name
    order). The window hands its sort keys up as columns of its own, so the outer ORDER BY is the
    order the rows already arrive in: no sort, and the read stops at the `want`th match. The
    matches' full rows are then fetched by primary key.
    """
    table = Member.__table__
    columns = [table.c[name] for name in WINDOW_COLUMNS]
    if not _columns_in(conditions) <= set(columns):
        columns = list(table.c)  # a condition on another column: the window reads the rows
    window = select(*columns, *(key.label(f"sort_{i}") for i, key in enumerate(walk.keys)))
    window = window.where(Member.church_id == church_id)
    if walk.start is not None:
        window = window.where(walk.beyond(walk.start))
    inner = walk.ordered(window).limit(size).subquery("members_window")
    adapt = ClauseAdapter(inner).traverse
    keys = [inner.c[f"sort_{i}"] for i in range(len(walk.keys))]
    matches = (
        select(inner.c.id, *keys)
        .where(*(adapt(c) for c in conditions))
        .order_by(*(k.desc() if walk.descending else k.asc() for k in keys))
        .limit(want)
        .subquery("window_matches")
    )
    found = [matches.c[f"sort_{i}"] for i in range(len(walk.keys))]
    stmt = select(Member, *found).join(matches, matches.c.id == Member.id)
    return stmt.order_by(*(k.desc() if walk.descending else k.asc() for k in found))


def _columns_in(conditions: list[ColumnElement[bool]]) -> set[Any]:
    """The members columns `conditions` read (inside their subqueries too)."""
    table = Member.__table__
    return {
        element
        for condition in conditions
        for element in visitors.iterate(condition)
        if isinstance(element, Column) and element.table is table
    }


def window_size(conditions: list[ColumnElement[bool]]) -> int:
    """How many of the church's rows a window reads: WINDOW per condition."""
    return WINDOW * len(conditions)


def fetch_rows(
    walk: Walk,
    conditions: list[ColumnElement[bool]],
    church_id: int,
    want: int,
    *,
    sparse: bool = False,
    drivers: Sequence[ColumnElement[bool]] = (),
) -> list[Any]:
    """Up to `want` matching rows in reading order: straight off the index, or window then matches.

    `sparse` says the caller knows the matches are few and unrelated to the sort (a phone number),
    so the window would only be read in vain. `drivers` are redundant conditions added to the
    matches step only, to start it from a small set of ids (see queries.member_drivers).

    A narrow text search also reads the window in vain, but an index-only window costs about what
    asking the planner first would (its trigram estimates are off by 2-5x either way).
    """
    stmt = select(Member).where(Member.church_id == church_id, *conditions)
    if not conditions:
        return list(db.session.execute(page_statement(walk, stmt, want, start=walk.start)).all())
    if sparse:
        return list(db.session.execute(page_statement(walk, stmt, want, start=walk.start, opaque=True)).all())
    size = window_size(conditions)
    rows = list(db.session.execute(window_statement(walk, conditions, church_id, want, size)).all())
    if len(rows) < want:
        # Too few in the window: read the page from the matches themselves. It starts again at the
        # cursor rather than at the window's end, which costs a few rows twice but saves a query.
        matches = page_statement(walk, stmt.where(*drivers), want, start=walk.start, opaque=True)
        rows = list(db.session.execute(matches).all())
    return rows


def keyset_page(
    conditions: list[ColumnElement[bool]],
    sort: str,
    church_id: int,
    *,
    after: str | None = None,
    before: str | None = None,
    limit: int = PAGE_SIZE,
    sparse: bool = False,
    drivers: Sequence[ColumnElement[bool]] = (),
) -> KeysetPage:
    """One page of the church's members matching `conditions`, after `after` or before `before`."""
    walk = Walk.plan(sort, after, before)
    fetched = fetch_rows(walk, conditions, church_id, limit + 1, sparse=sparse, drivers=drivers)
    more = len(fetched) > limit
    fetched = fetched[:limit]
    if not fetched:
        return KeysetPage([], None, None)
    if walk.backwards:
        fetched.reverse()
    width = len(walk.keys)
    first, last = encode_cursor(tuple(fetched[0][-width:])), encode_cursor(tuple(fetched[-1][-width:]))
    has_next = True if walk.backwards else more
    has_prev = more if walk.backwards else walk.start is not None
    return KeysetPage([row[0] for row in fetched], last if has_next else None, first if has_prev else None)
