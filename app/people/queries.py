"""The member list as SQL: search, filters and the leader scope, as conditions on members.

Every list of members (the /members page, a group's page, the group "add members" search, the CSV
export, the counts and the search bench) is narrowed here, so they share one query shape and one
set of indexes (migration 0002): trigram GIN for search, a (church_id, sort key…, id) B-tree per
sort for keyset pages (keyset.py, page_shapes.py). Counts are in counts.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from itertools import chain
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    literal_column,
    or_,
    select,
)

from app.models import GroupLeader, GroupMember, Member, User
from app.models.base import escape_like
from app.people.phones import digits, try_normalize
from app.security.inputs import parse_id
from app.tenancy import scoped

STATUSES = ("subscribed", "opted_out")
SORTS = {"name": "Name A–Z", "-name": "Name Z–A", "newest": "Newest first", "oldest": "Oldest first"}

# MEMBER_NAME_SQL (app.models.people), with a constant separator rather than a bound parameter:
# PostgreSQL uses the trigram index only for the very expression it was built on.
NAME_TEXT = Member.first_name.op("||")(literal_column("' '")).op("||")(Member.last_name)
_PHONE_ONLY = re.compile(r"^[\d\s().+\-]+$")
MAX_QUERY = 100
MAX_WORDS = 6


@dataclass(frozen=True)
class MemberFilters:
    """What the person asked the list for: parsed once from the query string, echoed into every link."""

    q: str = ""
    group_id: int | None = None
    branch_id: int | None = None
    status: str = ""
    sort: str = "name"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> MemberFilters:
        """Read ?q=&group=&branch=&status=&sort= leniently: anything malformed is ignored, never a 400."""
        status = args.get("status", "")
        sort = args.get("sort", "name")
        return cls(
            q=(args.get("q") or "").strip()[:MAX_QUERY],
            group_id=parse_id(args.get("group")) or None,
            branch_id=parse_id(args.get("branch")) or None,
            status=status if status in STATUSES else "",
            sort=sort if sort in SORTS else "name",
        )

    def as_args(self, **changes: Any) -> dict[str, Any]:
        """Query-string arguments for these filters (defaults left out), with `changes` applied."""
        values = asdict(replace(self, **changes)) if changes else asdict(self)
        names = {"group_id": "group", "branch_id": "branch"}
        defaults = asdict(MemberFilters())
        return {names.get(k, k): v for k, v in values.items() if v not in (None, "") and v != defaults[k]}

    @property
    def active(self) -> bool:
        """True when anything narrows the list (the count then is of matches, not of everyone)."""
        return bool(self.q or self.group_id or self.branch_id or self.status)


@dataclass(frozen=True)
class SearchTerm:
    """One part of what was typed in the search box: how it matches (`kind`), and with what `values`."""

    kind: str  # "phone" (a whole number), "digits" (part of one), "infix" or "prefix" (a word)
    values: tuple[str, ...]


def search_terms(q: str, country: str) -> tuple[SearchTerm, ...]:
    """What was typed in the search box: name and email words, or a phone in any format.

    A full valid number ("(312) 555-0142") is an exact lookup on the unique (church_id, phone_e164)
    index; a fragment of 3+ digits ("0142", "+1 312") is a trigram match on the phone's digits.
    Trigrams need three characters, so a word under three letters ("jo") cannot be an infix match
    through the index; it means "a name starting with jo", which is also what people mean by it.
    """
    q = q.strip()[:MAX_QUERY]
    if not q:
        return ()
    if _PHONE_ONLY.match(q):
        number_digits = digits(q)
        e164 = try_normalize(q, country) if len(number_digits) >= 7 else None
        if e164:
            return (SearchTerm("phone", (e164,)),)
        if len(number_digits) >= 3:
            return (SearchTerm("digits", (f"%{number_digits}%",)),)
    terms = []
    for word in q.split()[:MAX_WORDS]:
        pattern = escape_like(word.lower())
        if len(word) >= 3:
            terms.append(SearchTerm("infix", (f"%{pattern}%",)))
        else:
            terms.append(SearchTerm("prefix", (f"{pattern}%", f"% {pattern}%")))
    return tuple(terms)


# How many values a search term of each kind compares with.
TERM_VALUES = {"phone": 1, "digits": 1, "infix": 1, "prefix": 2}


def term_match(kind: str, values: Sequence[Any]) -> ColumnElement[bool]:
    """Members matching one search term of `kind`; `values` are its values or parameters standing for them."""
    if kind == "phone":
        return Member.phone_e164 == values[0]
    if kind == "digits":
        return Member.phone_e164.like(values[0])
    if kind == "infix":
        inside = values[0]
        return or_(NAME_TEXT.ilike(inside, escape="\\"), Member.email.ilike(inside, escape="\\"))
    starts, word_starts = values
    return or_(NAME_TEXT.ilike(starts, escape="\\"), NAME_TEXT.ilike(word_starts, escape="\\"))


def is_phone_search(q: str) -> bool:
    """A search for a phone (3+ digits and phone punctuation only): always a sparse, index-led lookup."""
    q = q.strip()
    return bool(_PHONE_ONLY.match(q)) and len(digits(q)) >= 3


def is_narrow_search(q: str) -> bool:
    """A search whose matches are few wherever they sort, so its page is read from its matches.

    A phone; several words (each must match: "grace okaf"); a word with a digit (an email's
    "okafor12"). Not a single word of letters or punctuation: "ma" or "example.net" can match half
    the church, and their page comes from the first rows in sort order.
    """
    return is_phone_search(q) or len(q.split()) > 1 or any(ch.isdigit() for ch in q)


def search_condition(q: str, country: str) -> ColumnElement[bool] | None:
    """Members matching what was typed in the search box (search_terms), or None for an empty search."""
    terms = search_terms(q, country)
    return and_(*(term_match(t.kind, t.values) for t in terms)) if terms else None


def led_by(user_id: Any) -> ColumnElement[bool]:
    """Members of the groups the user `user_id` (a value or a parameter) leads."""
    led = (
        select(GroupMember.member_id)
        .join(GroupLeader, GroupLeader.group_id == GroupMember.group_id)
        .where(GroupLeader.user_id == user_id, GroupMember.member_id == Member.id)
    )
    return exists(led)


def leader_scope(user: User) -> ColumnElement[bool] | None:
    """Leaders see the members of the groups they lead; owners and admins see everyone (None)."""
    return led_by(user.id) if user.is_leader else None


def in_group(group_id: Any) -> ColumnElement[bool]:
    """Members of the group `group_id` (a value or a parameter)."""
    return exists(
        select(GroupMember.member_id).where(GroupMember.group_id == group_id, GroupMember.member_id == Member.id)
    )


@dataclass(frozen=True)
class ListShape:
    """Which conditions narrow a member list, without their values (part of a page's cache key)."""

    leader: bool = False
    terms: tuple[str, ...] = ()  # the kind of each search term
    group: bool = False
    not_in_group: bool = False
    branch: bool = False
    status: str = ""


@dataclass(frozen=True)
class ListValues:
    """What a ListShape's conditions compare with: values, or parameters standing for them."""

    leader_id: Any = None
    group_id: Any = None
    not_group_id: Any = None
    branch_id: Any = None
    terms: tuple[tuple[Any, ...], ...] = ()  # each search term's values

    def flat(self) -> Iterator[Any]:
        """Every value in one fixed order, so that two ListValues of one shape pair up value by value."""
        return chain((self.leader_id, self.group_id, self.not_group_id, self.branch_id), *self.terms)


def list_shape(
    actor: User, filters: MemberFilters, *, not_in_group_id: int | None = None
) -> tuple[ListShape, ListValues]:
    """The conditions of the list `actor` asked for with `filters`, split into their shape and their values."""
    terms = search_terms(filters.q, actor.church.country or "US")
    shape = ListShape(
        leader=actor.is_leader,
        terms=tuple(term.kind for term in terms),
        group=bool(filters.group_id),
        not_in_group=bool(not_in_group_id),
        branch=bool(filters.branch_id),
        status=filters.status,
    )
    values = ListValues(actor.id, filters.group_id, not_in_group_id, filters.branch_id, tuple(t.values for t in terms))
    return shape, values


def list_conditions(shape: ListShape, values: ListValues) -> list[ColumnElement[bool]]:
    """What narrows the church's members to a list of this shape: the leader scope, the search, the filters."""
    conditions = [led_by(values.leader_id)] if shape.leader else []
    conditions += [term_match(kind, term) for kind, term in zip(shape.terms, values.terms, strict=True)]
    if shape.group:
        conditions.append(in_group(values.group_id))
    if shape.not_in_group:
        conditions.append(~in_group(values.not_group_id))
    if shape.branch:
        conditions.append(Member.branch_id == values.branch_id)
    if shape.status == "opted_out":
        conditions.append(Member.opted_out_at.is_not(None))
    elif shape.status == "subscribed":
        conditions.append(Member.opted_out_at.is_(None))
    return conditions


def member_conditions(
    actor: User, filters: MemberFilters, *, not_in_group_id: int | None = None
) -> list[ColumnElement[bool]]:
    """What narrows the church's members to this list, with its values in place."""
    return list_conditions(*list_shape(actor, filters, not_in_group_id=not_in_group_id))


def member_select(actor: User, filters: MemberFilters, *, not_in_group_id: int | None = None) -> Select:
    """SELECT members of the actor's church, visible to the actor, matching `filters` (no order, no limit)."""
    conditions = member_conditions(actor, filters, not_in_group_id=not_in_group_id)
    return scoped(Member, actor.church_id).where(*conditions)
