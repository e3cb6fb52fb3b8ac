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

Both steps, and the names a list row shows, are one statement (page_query): a round trip costs more
than either step on a busy machine. Everything that varies between requests (the church, the cursor,
the conditions' values) is a parameter the caller names and passes in, so a caller can build the
statement once per shape of page and run it with each request's values (people/page_shapes.py).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Select,
    Subquery,
    and_,
    func,
    literal,
    literal_column,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.sql import visitors
from sqlalchemy.sql.util import ClauseAdapter

from app.extensions import db
from app.models import Member
from app.models.people import WINDOW_INCLUDE

PAGE_SIZE = 50
# Rows of the church a window reads, index-only: about 1-2 ms. Not more per condition: where two
# conditions thin the matches out, a longer window is mostly read in vain, and costs more than it
# saves (a group + name search measured slower at 6,000 rows and slower again at 12,000).
WINDOW = 3000
# What the list's filters read, carried by both sort indexes (INCLUDE, migration 0009): a window
# reads them off the index alone.
WINDOW_COLUMNS = ("id", *WINDOW_INCLUDE)


def sort_keys(sort: str) -> tuple[list[ColumnElement], bool]:
    """The columns a sort orders by (ending in id, so the order is total) and whether it descends."""
    if sort in ("newest", "oldest"):
        return [Member.created_at, Member.id], sort == "newest"
    return [unnamed(), func.lower(Member.last_name), func.lower(Member.first_name), Member.id], sort == "-name"


def unnamed() -> ColumnElement[bool]:
    """Whether a member has no name (an unknown texter): these sort after every name, as NULLs would.

    Written with literal '' (not bound parameters) so it is the very expression the name index
    leads with (MEMBER_UNNAMED_SQL, migration 0029); a NULL instead of '' would break the row
    comparison keyset paging relies on.
    """
    blank = literal_column("''")
    return and_(Member.first_name == blank, Member.last_name == blank).self_group()


def _opaque(keys: list[ColumnElement]) -> list[ColumnElement]:
    """The same values and order, written so that no index matches them (step 2 above)."""
    return [
        key + literal(timedelta(0))
        if key is Member.created_at
        else key + 0
        if key is Member.id
        else func.coalesce(key, False)
        if isinstance(key.type, Boolean)
        else key.concat("")
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
        blank, last, first, member_id = values
        if not isinstance(blank, bool) or not isinstance(last, str) or not isinstance(first, str):
            return None
        return blank, last, first, int(member_id)
    except (ValueError, TypeError, AttributeError, json.JSONDecodeError):
        return None


@dataclass(frozen=True)
class Walk:
    """Which way a page reads its sort: the sort, and whether backwards (a "previous page" request)."""

    sort: str
    backwards: bool = False

    @classmethod
    def plan(cls, sort: str, after: str | None, before: str | None) -> tuple[Walk, tuple[Any, ...] | None]:
        """The walk a page request makes, and the sort key it starts after (None: from the first row)."""
        after_key, before_key = decode_cursor(after, sort), decode_cursor(before, sort)
        backwards = before_key is not None and after_key is None
        return cls(sort, backwards), before_key if backwards else after_key

    @cached_property
    def keys(self) -> list[ColumnElement]:
        """The columns the sort orders by (sort_keys)."""
        return sort_keys(self.sort)[0]

    @property
    def descending(self) -> bool:
        """The direction rows are read in (the display order is restored afterwards)."""
        return sort_keys(self.sort)[1] != self.backwards

    def beyond(self, start: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly after the sort key `start` (values or parameters, one per key) in reading order."""
        row = tuple_(*self.keys)
        if len(start) != len(self.keys):
            raise ValueError(f"a {self.sort!r} key has {len(self.keys)} values, not {len(start)}")
        return row < tuple_(*start) if self.descending else row > tuple_(*start)

    def ordered(self, stmt: Select, *, opaque: bool = False, keys: Sequence[ColumnElement] | None = None) -> Select:
        """`stmt` in reading order: by the sort keys, or by `keys` standing for them (a subquery's)."""
        columns = keys if keys is not None else _opaque(self.keys) if opaque else self.keys
        return stmt.order_by(*(c.desc() if self.descending else c.asc() for c in columns))


@dataclass(frozen=True)
class KeysetPage:
    """One page of rows in display order, with the tokens of the pages on either side."""

    rows: list[Any]
    next_cursor: str | None
    prev_cursor: str | None


def window_matches(
    walk: Walk, conditions: list[ColumnElement[bool]], church: Any, want: int, start: Sequence[Any] | None = None
) -> Select:
    """Step 1: the ids and sort keys of the matches among the next WINDOW rows of the church.

    The window is a LIMIT subquery, so PostgreSQL has to read it off the sort index and filter
    only those rows: bounded work, whatever it believes about how many rows match. It reads just
    the columns the sort indexes carry (WINDOW_COLUMNS), so the read is an index-only scan: a few
    dozen index pages for 3,000 rows instead of one heap page per row (the heap is not in name
    order). The window hands its sort keys up as columns of its own, so the ORDER BY here is the
    order the rows already arrive in: no sort, and the read stops at the `want`th match.
    """
    table = Member.__table__
    columns = [table.c[name] for name in WINDOW_COLUMNS]
    if not _columns_in(conditions) <= set(columns):
        columns = list(table.c)  # a condition on another column: the window reads the rows
    window = select(*columns, *_labelled(walk.keys)).where(Member.church_id == church)
    if start is not None:
        window = window.where(walk.beyond(start))
    inner = walk.ordered(window).limit(WINDOW).subquery("members_window")
    adapt = ClauseAdapter(inner).traverse
    keys = [inner.c[f"sort_{i}"] for i in range(len(walk.keys))]
    return walk.ordered(select(inner.c.id, *keys).where(*(adapt(c) for c in conditions)), keys=keys).limit(want)


def _labelled(keys: list[ColumnElement]) -> list[ColumnElement]:
    return [key.label(f"sort_{i}") for i, key in enumerate(keys)]


def _columns_in(conditions: list[ColumnElement[bool]]) -> set[Any]:
    """The members columns `conditions` read (inside their subqueries too)."""
    table = Member.__table__
    return {
        element
        for condition in conditions
        for element in visitors.iterate(condition)
        if isinstance(element, Column) and element.table is table
    }


def _page_ids(
    walk: Walk,
    conditions: list[ColumnElement[bool]],
    church: Any,
    want: int,
    start: Sequence[Any] | None,
    sparse: bool,
    drivers: Sequence[ColumnElement[bool]],
) -> Subquery:
    """The ids and sort keys (id, sort_0, sort_1…) of up to `want` matching rows, as one subquery.

    Without conditions, the next rows off the sort index. With them, the window (step 1) and, only
    if it holds fewer than `want` matches, the page read from the matches (step 2), in a single
    statement: step 2 sits behind a one-time filter on the window's count, so PostgreSQL never
    starts it when the window was enough. One round trip instead of two, which on a busy machine
    costs more than either query's own work. The arguments are page_query's.
    """
    found = select(Member.id, *_labelled(walk.keys)).where(Member.church_id == church, *conditions)
    if start is not None:
        found = found.where(walk.beyond(start))
    if not conditions:
        return walk.ordered(found).limit(want).subquery("page")
    # Step 2 orders by keys no index matches, so the plan starts from the search's own index.
    matches = walk.ordered(found.where(*drivers), opaque=True).limit(want)
    if sparse:
        return matches.subquery("page")
    window = window_matches(walk, conditions, church, want, start).cte("window_matches")
    enough = select(func.count()).select_from(window).scalar_subquery() >= want
    from_window = select(window).where(enough)
    from_matches = select(matches.subquery("matches")).where(~enough)
    return union_all(from_window, from_matches).subquery("page")


def page_query(
    walk: Walk,
    conditions: list[ColumnElement[bool]],
    church: Any,
    want: int,
    *,
    start: Sequence[Any] | None = None,
    sparse: bool = False,
    drivers: Sequence[ColumnElement[bool]] = (),
    columns: Sequence[ColumnElement[Any]] = (),
) -> Select:
    """The page's rows in reading order: (Member, *columns, *sort keys), in one statement.

    `church` and `start` (the sort key to read after, None from the first row) are values or bound
    parameters; the caller that builds a statement once per shape passes parameters and names them.
    `sparse` says the caller knows the matches are few and unrelated to the sort (a phone number),
    so the window would only be read in vain. `drivers` are redundant conditions added to step 2
    only, to start it from a small set of ids (see queries.group_driver). `columns` are more
    values per row, correlated to Member (a list's group and branch names), so a page with
    everything it shows is one query.
    """
    page = _page_ids(walk, conditions, church, want, start, sparse, drivers)
    keys = [page.c[f"sort_{i}"] for i in range(len(walk.keys))]
    stmt = select(Member, *columns, *keys).join(page, page.c.id == Member.id)
    stmt = stmt.where(Member.church_id == church)
    return walk.ordered(stmt, keys=keys)


def read_page(statement: Select, params: dict[str, Any], walk: Walk, limit: int, *, started: bool) -> KeysetPage:
    """Run a page statement that asks for `limit` + 1 rows, and give them in display order with tokens.

    `started` says the page was read after a cursor (so there is a page before it). Its rows are
    the statement's columns without the sort keys: (Member, *columns).
    """
    fetched = list(db.session.execute(statement, params).all())
    more = len(fetched) > limit
    fetched = fetched[:limit]
    if not fetched:
        return KeysetPage([], None, None)
    if walk.backwards:
        fetched.reverse()
    width = len(walk.keys)
    first, last = encode_cursor(tuple(fetched[0][-width:])), encode_cursor(tuple(fetched[-1][-width:]))
    has_next = True if walk.backwards else more
    has_prev = more if walk.backwards else started
    rows = [tuple(row[:-width]) for row in fetched]
    return KeysetPage(rows, last if has_next else None, first if has_prev else None)
