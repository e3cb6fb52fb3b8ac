"""The member list as SQL: search, filters, the leader scope, keyset pages and counts.

Every list of members (the /members page, a group's page, the group "add members" search, the CSV
export and the search bench) is built here, so they share one query shape and one set of indexes
(migration 0002): trigram GIN for search, a (church_id, sort key…, id) B-tree per sort for keyset.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    any_,
    bindparam,
    column,
    distinct,
    exists,
    func,
    literal_column,
    or_,
    select,
    table,
)

from app.extensions import db
from app.models import GroupLeader, GroupMember, Member, User
from app.people.phones import digits, try_normalize
from app.tenancy import scoped

# Kept by triggers (migrations/versions/0007_billing.py), read as a plain table.
MEMBER_COUNTS = table("member_counts", column("church_id"), column("opted_in"), column("opted_out"))
# Counting matches stops here: past it the list says "10,000+" instead of reading every match.
COUNT_CAP = 10_000
SEARCH_COUNT_CAP = 1_000
STATUSES = ("subscribed", "opted_out")
SORTS = {"name": "Name A–Z", "-name": "Name Z–A", "newest": "Newest first", "oldest": "Oldest first"}

# MEMBER_NAME_SQL (app.models.people), with a constant separator rather than a bound parameter:
# PostgreSQL uses the trigram index only for the very expression it was built on.
NAME_TEXT = Member.first_name.op("||")(literal_column("' '")).op("||")(Member.last_name)
_PHONE_ONLY = re.compile(r"^[\d\s().+\-]+$")
_LIKE_SPECIAL = re.compile(r"([\\%_])")
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
            group_id=_int(args.get("group")),
            branch_id=_int(args.get("branch")),
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


def _int(value: str | None) -> int | None:
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    return number if number and 0 < number < 2**63 else None


def _like_escape(text: str) -> str:
    return _LIKE_SPECIAL.sub(r"\\\1", text)


def word_condition(word: str, n: int = 0) -> ColumnElement[bool]:
    """One typed word: inside a name or email, or, under 3 letters, at the start of a first or last name.

    Trigrams need three characters, so "jo" cannot be an infix match through the index; it means
    "a name starting with jo", which is also what people mean when they type two letters. `n` is
    the word's place in the search, which names its parameters (see keyset.cached_page_query).
    """
    pattern = _like_escape(word.lower())
    if len(word) >= 3:
        inside = bindparam(f"word_{n}", f"%{pattern}%")
        return or_(NAME_TEXT.ilike(inside, escape="\\"), Member.email.ilike(inside, escape="\\"))
    starts, word_starts = bindparam(f"word_{n}", f"{pattern}%"), bindparam(f"word_{n}_inner", f"% {pattern}%")
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
    """Members matching what was typed in the search box: name and email words, or a phone in any format.

    A full valid number ("(312) 555-0142") is an exact lookup on the unique (church_id, phone_e164)
    index; a fragment of 3+ digits ("0142", "+1 312") is a trigram match on the phone's digits.
    """
    q = q.strip()[:MAX_QUERY]
    if not q:
        return None
    if _PHONE_ONLY.match(q):
        number_digits = digits(q)
        e164 = try_normalize(q, country) if len(number_digits) >= 7 else None
        if e164:
            return Member.phone_e164 == bindparam("phone", e164)
        if len(number_digits) >= 3:
            return Member.phone_e164.like(bindparam("phone", f"%{number_digits}%"))
    return and_(*(word_condition(word, n) for n, word in enumerate(q.split()[:MAX_WORDS])))


def leader_scope(user: User) -> ColumnElement[bool] | None:
    """Leaders see the members of the groups they lead; owners and admins see everyone (None)."""
    if not user.is_leader:
        return None
    led = (
        select(GroupMember.member_id)
        .join(GroupLeader, GroupLeader.group_id == GroupMember.group_id)
        .where(GroupLeader.user_id == bindparam("leader_id", user.id), GroupMember.member_id == Member.id)
    )
    return exists(led)


def in_group(group_id: int, name: str = "group_id") -> ColumnElement[bool]:
    """Members of the group; `name` names its parameter (a list can have two: in one, not in another)."""
    return exists(
        select(GroupMember.member_id).where(
            GroupMember.group_id == bindparam(name, group_id), GroupMember.member_id == Member.id
        )
    )


def member_drivers(actor: User, filters: MemberFilters) -> list[ColumnElement[bool]]:
    """Extra, redundant conditions that make a group-led list start from the group's member ids.

    When the sort window holds too few of a group's members, the page is read from the matches.
    With only EXISTS, PostgreSQL hashes the group and scans every member of the church (30+ ms at
    100,000); `id = ANY(ARRAY(…group's member ids…))` makes it fetch just those by primary key.
    Only for a group filter without a search (a search's own index is the better start); not for a
    leader's scope, whose groups can be large and whose EXISTS then runs once per id.
    """
    if filters.q or not filters.group_id:
        return []
    ids = select(GroupMember.member_id).where(
        GroupMember.church_id == bindparam("church_id", actor.church_id),
        GroupMember.group_id == bindparam("group_id", filters.group_id),
    )
    return [Member.id == any_(func.array(ids.scalar_subquery()))]


def member_conditions(
    actor: User, filters: MemberFilters, *, not_in_group_id: int | None = None
) -> list[ColumnElement[bool]]:
    """What narrows the church's members to this list: the leader scope, the search and the filters."""
    conditions: list[ColumnElement[bool] | None] = [
        leader_scope(actor),
        search_condition(filters.q, actor.church.country or "US"),
    ]
    if filters.group_id:
        conditions.append(in_group(filters.group_id))
    if not_in_group_id:
        conditions.append(~in_group(not_in_group_id, "not_group_id"))
    if filters.branch_id:
        conditions.append(Member.branch_id == bindparam("branch_id", filters.branch_id))
    if filters.status == "opted_out":
        conditions.append(Member.opted_out_at.is_not(None))
    elif filters.status == "subscribed":
        conditions.append(Member.opted_out_at.is_(None))
    return [c for c in conditions if c is not None]


def member_select(actor: User, filters: MemberFilters, *, not_in_group_id: int | None = None) -> Select:
    """SELECT members of the actor's church, visible to the actor, matching `filters` (no order, no limit)."""
    conditions = member_conditions(actor, filters, not_in_group_id=not_in_group_id)
    return scoped(Member, actor.church_id).where(*conditions)


@dataclass(frozen=True)
class MemberCount:
    """How many members a list holds; `capped` means "at least value" (the count stopped there)."""

    value: int
    capped: bool = False


def count_members(actor: User, filters: MemberFilters) -> MemberCount:
    """The list's total, as cheaply as it can be known exactly enough.

    Everyone (or everyone opted in, or out): the per-church figures kept by triggers. A leader's
    everyone, or one group: index-only scans of group_members' primary key. Anything narrower stops counting at a cap
    (1,000 for a search, 10,000 for filters) and the page says "1,000+": nobody needs the exact
    size of a broad search, and the count must not cost more than the page it describes.
    """
    only_group = filters.group_id and not (filters.q or filters.branch_id or filters.status)
    if not actor.is_leader and not (filters.q or filters.group_id or filters.branch_id):
        # Everyone, or everyone opted in / out: the two figures triggers keep exact (migration 0007).
        counts = db.session.execute(
            select(MEMBER_COUNTS.c.opted_in, MEMBER_COUNTS.c.opted_out).where(
                MEMBER_COUNTS.c.church_id == actor.church_id
            )
        ).first()
        opted_in, opted_out = counts or (0, 0)
        return MemberCount({"subscribed": opted_in, "opted_out": opted_out}.get(filters.status, opted_in + opted_out))
    if actor.is_leader and not filters.active:
        # A leader's everyone: the distinct members of the groups they lead (group_members' keys).
        stmt = (
            select(func.count(distinct(GroupMember.member_id)))
            .join(GroupLeader, GroupLeader.group_id == GroupMember.group_id)
            .where(GroupLeader.user_id == actor.id, GroupMember.church_id == actor.church_id)
        )
        return MemberCount(db.session.scalar(stmt) or 0)
    if not actor.is_leader and only_group:
        stmt = select(func.count()).where(
            GroupMember.church_id == actor.church_id, GroupMember.group_id == filters.group_id
        )
        return MemberCount(db.session.scalar(stmt) or 0)
    cap = SEARCH_COUNT_CAP if filters.q else COUNT_CAP
    value = db.session.scalar(capped_count(actor, filters, cap)) or 0
    return MemberCount(min(value, cap), value > cap)


def capped_count(actor: User, filters: MemberFilters, cap: int) -> Select:
    """SELECT how many members match, counting no further than cap + 1."""
    matches = member_select(actor, filters).with_only_columns(literal_column("1")).limit(cap + 1).subquery()
    return select(func.count()).select_from(matches)
