"""Member-list page statements, built once per shape of page and run with each request's values.

Building a page statement (keyset.page_query: the window, the matches, the names a row shows) is
most of a search's own Python time, about 2.5 ms of SQLAlchemy calls, more than PostgreSQL takes
to run it. Between two keystrokes only values change ("tur" or "wri", this cursor or that), so the
statement is kept by a PageShape: everything its SQL depends on (the sort and direction, whether
there is a cursor, which filters, which kinds of search term) and no value at all.

page_statement builds the statement for a shape and is the one place that names its parameters:
the conditions it assembles (queries.list_conditions) take parameters as arguments and name none of
their own. A request's values are paired with those parameters by position, and the church's id is
set last, so no other value can point a page at another church.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, any_, bindparam, func, select

from app.models import Branch, Group, GroupMember, Member, User
from app.people.keyset import PAGE_SIZE, KeysetPage, Walk, page_query, read_page
from app.people.queries import (
    TERM_VALUES,
    ListShape,
    ListValues,
    MemberFilters,
    is_narrow_search,
    list_conditions,
    list_shape,
)


@dataclass(frozen=True)
class PageShape:
    """What a member-list page statement depends on, without a single value: its cache key."""

    list: ListShape
    sort: str = "name"
    backwards: bool = False
    cursor: bool = False  # read after a sort key (any page but the first)
    want: int = PAGE_SIZE + 1
    sparse: bool = False  # see keyset.page_query

    @property
    def drivers(self) -> bool:
        """Whether the page starts from its group's member ids (group_driver)."""
        return self.list.group and not self.list.terms


@dataclass(frozen=True)
class PageStatement:
    """A page statement and the parameters page_statement named in it, to be given a request's values."""

    statement: Select
    church: BindParameter
    start: tuple[BindParameter, ...]
    values: ListValues  # a parameter for each value of the list's conditions

    def params(self, values: ListValues, start: tuple[Any, ...] | None, church_id: int) -> dict[str, Any]:
        """A request's values under the names of the parameters they stand in for; the church last."""
        params = {p.key: v for p, v in zip(self.values.flat(), values.flat(), strict=True) if p is not None}
        params.update((p.key, v) for p, v in zip(self.start, start or (), strict=True))
        # Last, so that whatever a condition's parameters are called, the page is the tenant's.
        params[self.church.key] = church_id
        return params


# Shapes are few (sorts and directions, with or without a cursor, times the kinds of filter and
# search term); the bound only keeps odd ones (six-word searches) from piling up.
@lru_cache(maxsize=256)
def page_statement(shape: PageShape) -> PageStatement:
    """The statement every page of `shape` runs, with each of its parameters named here."""
    church = bindparam("church_id")
    walk = Walk(shape.sort, shape.backwards)
    start = tuple(bindparam(f"cursor_{i}", type_=key.type) for i, key in enumerate(walk.keys)) if shape.cursor else ()
    terms = tuple(
        tuple(bindparam(f"term_{i}_{j}") for j in range(TERM_VALUES[kind])) for i, kind in enumerate(shape.list.terms)
    )
    values = ListValues(
        leader_id=bindparam("leader_id") if shape.list.leader else None,
        group_id=bindparam("group_id") if shape.list.group else None,
        not_group_id=bindparam("not_group_id") if shape.list.not_in_group else None,
        branch_id=bindparam("branch_id") if shape.list.branch else None,
        terms=terms,
    )
    statement = page_query(
        walk,
        list_conditions(shape.list, values),
        church,
        shape.want,
        start=start or None,
        sparse=shape.sparse,
        drivers=[group_driver(church, values.group_id)] if shape.drivers else [],
        columns=row_names(church),
    )
    return PageStatement(statement, church, start, values)


@dataclass(frozen=True)
class MemberPage:
    """One request for a page of the member list: the statement, the values to run it with, how to read it."""

    walk: Walk
    statement: Select
    params: dict[str, Any]
    limit: int
    started: bool  # read after a cursor

    def read(self) -> KeysetPage:
        """The page's rows, (Member, group names, branch name) in display order, and its tokens."""
        return read_page(self.statement, self.params, self.walk, self.limit, started=self.started)


def member_page(
    actor: User,
    filters: MemberFilters,
    *,
    after: str | None = None,
    before: str | None = None,
    not_in_group_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> MemberPage:
    """The page of the list `actor` asked for with `filters`, after `after` or before `before`."""
    walk, start = Walk.plan(filters.sort, after, before)
    list_of, values = list_shape(actor, filters, not_in_group_id=not_in_group_id)
    shape = PageShape(list_of, walk.sort, walk.backwards, start is not None, limit + 1, is_narrow_search(filters.q))
    page = page_statement(shape)
    params = page.params(values, start, actor.church_id)
    return MemberPage(walk, page.statement, params, limit, start is not None)


def group_driver(church_id: Any, group_id: Any) -> ColumnElement[bool]:
    """A redundant condition that makes a group-led page start from the group's member ids.

    When the sort window holds too few of a group's members, the page is read from the matches.
    With only EXISTS, PostgreSQL hashes the group and scans every member of the church (30+ ms at
    100,000); `id = ANY(ARRAY(…group's member ids…))` makes it fetch just those by primary key.
    Only for a group filter without a search (a search's own index is the better start).
    """
    ids = select(GroupMember.member_id).where(GroupMember.church_id == church_id, GroupMember.group_id == group_id)
    return Member.id == any_(func.array(ids.scalar_subquery()))


def row_names(church_id: Any) -> list[ColumnElement[Any]]:
    """A list row's group names (sorted) and branch name, as columns correlated to Member.

    They ride along in the page's own query, so a page is one statement, not one per row.
    """
    group_names = (
        select(Group.name)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.church_id == church_id, GroupMember.member_id == Member.id)
        .order_by(Group.name)
        .scalar_subquery()
    )
    branch_name = select(Branch.name).where(Branch.id == Member.branch_id).scalar_subquery()
    return [func.array(group_names), branch_name]
