"""How many members a list holds, as cheaply as it can be known exactly enough."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, column, distinct, func, literal_column, select, table

from app.extensions import db
from app.models import GroupLeader, GroupMember, User
from app.people.queries import MemberFilters, member_select

# Kept by triggers (migrations/versions/0007_billing.py), read as a plain table.
MEMBER_COUNTS = table("member_counts", column("church_id"), column("opted_in"), column("opted_out"))
# Counting matches stops here: past it the list says "10,000+" instead of reading every match.
COUNT_CAP = 10_000
SEARCH_COUNT_CAP = 1_000


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
