"""Who a broadcast goes to: the audience spec and the set-based queries over it.

An audience is any mix of "everyone", groups, branches and individual members. It is stored
as JSON on the broadcast (`AudienceSpec.to_dict()`), and every question about it (who gets a
text, how many were left out and why, which number to send from) is one SQL statement over
`members`, never a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, union_all

from app.extensions import db
from app.models import GroupMember, Member, PhoneNumber


def _ids(values: Any) -> list[int]:
    """Distinct positive integer ids from form or JSON input, in their first order."""
    out: list[int] = []
    for value in values or []:
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if number > 0 and number not in out:
            out.append(number)
    return out


@dataclass
class AudienceSpec:
    """A broadcast's audience: everyone, and/or groups, branches and hand-picked members."""

    everyone: bool = False
    group_ids: list[int] = field(default_factory=list)
    branch_ids: list[int] = field(default_factory=list)
    member_ids: list[int] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AudienceSpec:
        """Parse the stored JSON (or form-like input); unknown keys and bad ids are ignored."""
        data = data or {}
        return cls(
            everyone=bool(data.get("everyone")),
            group_ids=_ids(data.get("group_ids")),
            branch_ids=_ids(data.get("branch_ids")),
            member_ids=_ids(data.get("member_ids")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON stored in broadcasts.audience / schedules.audience."""
        return {
            "everyone": self.everyone,
            "group_ids": list(self.group_ids),
            "branch_ids": list(self.branch_ids),
            "member_ids": list(self.member_ids),
        }

    @property
    def is_empty(self) -> bool:
        """Nothing selected at all (distinct from a selection that matches nobody)."""
        return not (self.everyone or self.group_ids or self.branch_ids or self.member_ids)


@dataclass(frozen=True)
class AudienceCounts:
    """What the composer shows under the audience picker.

    matched: distinct members selected; recipients: those who will get a text (opted in, with a
    phone); opted_out / no_phone: the ones left out and why (matched = recipients + opted_out +
    no_phone); duplicates: selections that named a member already selected another way.
    """

    matched: int
    recipients: int
    opted_out: int
    duplicates: int
    no_phone: int


def _selected(church_id: int, spec: AudienceSpec) -> ColumnElement[bool]:
    """WHERE clause over `members` for the spec (tenant filter included)."""
    parts: list[ColumnElement[bool]] = []
    if spec.everyone:
        # Numbers that texted in but were never added as members are not "everyone".
        parts.append(Member.is_unknown.is_(False))
    if spec.group_ids:
        in_groups = select(GroupMember.member_id).where(
            GroupMember.church_id == church_id, GroupMember.group_id.in_(spec.group_ids)
        )
        parts.append(Member.id.in_(in_groups))
    if spec.branch_ids:
        parts.append(Member.branch_id.in_(spec.branch_ids))
    if spec.member_ids:
        parts.append(Member.id.in_(spec.member_ids))
    return and_(Member.church_id == church_id, or_(*parts) if parts else false())


def _reachable() -> ColumnElement[bool]:
    return and_(Member.phone_e164.is_not(None), Member.phone_e164 != "", Member.opted_out_at.is_(None))


def recipients_select(church_id: int, spec: AudienceSpec) -> Select:
    """(member_id, phone_e164): one row per unique phone of opted-in audience members.

    Meant for `INSERT … SELECT`; one scan of members with semi-joins, so a member picked
    through two groups still yields one row, and DISTINCT ON the phone guards the
    one-text-per-phone promise even if two member rows ever shared a number.
    """
    return (
        select(Member.id.label("member_id"), Member.phone_e164.label("phone_e164"))
        .where(_selected(church_id, spec), _reachable())
        .distinct(Member.phone_e164)
        .order_by(Member.phone_e164, Member.id)
    )


def _selection_rows(church_id: int, spec: AudienceSpec) -> Select | None:
    """One row per (selection, member) pair, to count members picked more than once."""
    branches: list[Select] = []
    if spec.everyone:
        branches.append(select(Member.id).where(Member.church_id == church_id, Member.is_unknown.is_(False)))
    if spec.group_ids:
        branches.append(
            select(GroupMember.member_id).where(
                GroupMember.church_id == church_id, GroupMember.group_id.in_(spec.group_ids)
            )
        )
    if spec.branch_ids:
        branches.append(select(Member.id).where(Member.church_id == church_id, Member.branch_id.in_(spec.branch_ids)))
    if spec.member_ids:
        branches.append(select(Member.id).where(Member.church_id == church_id, Member.id.in_(spec.member_ids)))
    if not branches:
        return None
    return branches[0] if len(branches) == 1 else union_all(*branches)


def audience_counts(church_id: int, spec: AudienceSpec) -> AudienceCounts:
    """Counts for the live audience summary: two aggregate statements, whatever the size."""
    if spec.is_empty:
        return AudienceCounts(0, 0, 0, 0, 0)
    has_phone = and_(Member.phone_e164.is_not(None), Member.phone_e164 != "")
    row = db.session.execute(
        select(
            func.count(),
            func.count(func.distinct(Member.phone_e164)).filter(_reachable()),
            func.count().filter(Member.opted_out_at.is_not(None)),
            func.count().filter(Member.opted_out_at.is_(None), ~has_phone),
        ).where(_selected(church_id, spec))
    ).one()
    matched, recipients, opted_out, no_phone = (int(v or 0) for v in row)
    selections = _selection_rows(church_id, spec)
    picked = 0
    if selections is not None:
        picked = int(db.session.scalar(select(func.count()).select_from(selections.subquery())) or 0)
    # Phones shared by two reachable members would also be duplicates (kept for safety).
    shared_phones = max(matched - opted_out - no_phone - recipients, 0)
    return AudienceCounts(
        matched=matched,
        recipients=recipients,
        opted_out=opted_out,
        duplicates=max(picked - matched, 0) + shared_phones,
        no_phone=no_phone,
    )


def sample_member(church_id: int, spec: AudienceSpec) -> Member | None:
    """A real member who will receive the broadcast, for the merge-field preview."""
    if spec.is_empty:
        return None
    return db.session.scalar(
        select(Member).where(_selected(church_id, spec), _reachable()).order_by(Member.id).limit(1)
    )


def single_branch_number(church_id: int, spec: AudienceSpec) -> str | None:
    """The branch's own number when the audience is exactly one branch and nothing else."""
    if spec.everyone or spec.group_ids or spec.member_ids or len(spec.branch_ids) != 1:
        return None
    return db.session.scalar(
        select(PhoneNumber.e164).where(PhoneNumber.church_id == church_id, PhoneNumber.branch_id == spec.branch_ids[0])
    )


def default_number(church_id: int) -> str | None:
    """The church's main sending number: the default one, else its oldest number."""
    return db.session.scalar(
        select(PhoneNumber.e164)
        .where(PhoneNumber.church_id == church_id)
        .order_by(PhoneNumber.is_default.desc(), PhoneNumber.branch_id.is_not(None), PhoneNumber.id)
        .limit(1)
    )
