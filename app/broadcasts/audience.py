"""Who a broadcast goes to: the audience spec and the set-based queries over it.

An audience is any mix of "everyone", groups, branches and individual members, optionally
narrowed by the church's custom fields ("campus is North", "birthday in this month"). It is stored
as JSON on the broadcast (`AudienceSpec.to_dict()`), and every question about it (who gets a
text, how many were left out and why, which number to send from) is one SQL statement over
`members`, never a Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, cast, false, func, literal, or_, select, union_all
from sqlalchemy.types import SmallInteger

from app.extensions import db
from app.models import Church, GroupMember, Member, MemberFieldValue, PhoneNumber
from app.people.custom_fields import FieldSpec, church_fields

MAX_FIELD_FILTERS = 5
FILTER_VALUE_MAX = 200
# What a filter may ask of a field of each type.
FILTER_OPS = {"choice": ("is",), "text": ("is",), "date": ("this_month",)}


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


@dataclass(frozen=True)
class FieldFilter:
    """Narrow the audience by a custom field: `is` a value (choice, text) or `this_month` (date)."""

    field_id: int
    op: str
    value: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"field_id": self.field_id, "op": self.op, "value": self.value}


def _filters(values: Any) -> list[FieldFilter]:
    """Well-formed filters from stored JSON or form input (bounded); whether the field is the church's is
    checked where they are used (`_narrowed` joins on the church)."""
    out: list[FieldFilter] = []
    for item in values if isinstance(values, list) else []:
        if not isinstance(item, dict):
            continue
        ids = _ids([item.get("field_id")])
        op = item.get("op")
        value = item.get("value") if isinstance(item.get("value"), str) else ""
        if not ids or op not in ("is", "this_month") or len(value) > FILTER_VALUE_MAX:
            continue
        if op == "is" and not value.strip():
            continue
        found = FieldFilter(ids[0], op, value.strip() if op == "is" else "")
        if found not in out:
            out.append(found)
    return out[:MAX_FIELD_FILTERS]


def encode_filter(f: FieldFilter) -> str:
    """A filter as one form value: "12:is:North", "7:this_month"."""
    return f"{f.field_id}:{f.op}:{f.value}" if f.op == "is" else f"{f.field_id}:{f.op}"


def decode_filters(values: list[str]) -> list[dict[str, Any]]:
    """Form values back to filter dicts (malformed ones dropped; `_filters` bounds the rest)."""
    out = []
    for raw in (values or [])[: MAX_FIELD_FILTERS * 4]:
        field_id, _, rest = str(raw).partition(":")
        op, _, value = rest.partition(":")
        out.append({"field_id": field_id, "op": op, "value": value})
    return out


def filter_label(f: FieldFilter, fields: dict[int, FieldSpec]) -> str | None:
    """ "Campus is North", "Birthday in this month"; None when the field is not the church's."""
    spec = fields.get(f.field_id)
    if spec is None or f.op not in FILTER_OPS.get(spec.type, ()):
        return None
    return f"{spec.name} is {f.value}" if f.op == "is" else f"{spec.name} in this month"


def filter_options(church_id: int) -> list[tuple[str, str]]:
    """What the composer offers: each option of each choice field, each date field's month."""
    options: list[tuple[str, str]] = []
    for spec in church_fields(church_id):
        if spec.type == "choice":
            options += [(encode_filter(FieldFilter(spec.id, "is", c)), f"{spec.name} is {c}") for c in spec.choices]
        elif spec.type == "date":
            options.append((encode_filter(FieldFilter(spec.id, "this_month")), f"{spec.name} in this month"))
    return options


@dataclass
class AudienceSpec:
    """A broadcast's audience: everyone, and/or groups, branches and hand-picked members.

    `filters` narrow that selection (every filter must hold); on their own they select nobody.
    """

    everyone: bool = False
    group_ids: list[int] = field(default_factory=list)
    branch_ids: list[int] = field(default_factory=list)
    member_ids: list[int] = field(default_factory=list)
    filters: list[FieldFilter] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AudienceSpec:
        """Parse the stored JSON (or form-like input); unknown keys and bad ids are ignored."""
        data = data or {}
        return cls(
            everyone=bool(data.get("everyone")),
            group_ids=_ids(data.get("group_ids")),
            branch_ids=_ids(data.get("branch_ids")),
            member_ids=_ids(data.get("member_ids")),
            filters=_filters(data.get("filters")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON stored in broadcasts.audience / schedules.audience."""
        out: dict[str, Any] = {
            "everyone": self.everyone,
            "group_ids": list(self.group_ids),
            "branch_ids": list(self.branch_ids),
            "member_ids": list(self.member_ids),
        }
        if self.filters:
            out["filters"] = [f.to_dict() for f in self.filters]
        return out

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
    return and_(Member.church_id == church_id, or_(*parts) if parts else false(), *_narrowed(church_id, spec))


def church_month(church_id: int) -> ColumnElement[int]:
    """This month (1-12) in the church's time zone, as SQL: evaluated when the statement runs."""
    local_now = func.timezone(select(Church.timezone).where(Church.id == church_id).scalar_subquery(), func.now())
    return cast(func.extract("month", local_now), SmallInteger)


def _narrowed(church_id: int, spec: AudienceSpec) -> list[ColumnElement[bool]]:
    """One semi-join per custom field filter, each an index range over member_field_values.

    The church is part of every subquery, so another church's field id matches nobody.
    """
    out: list[ColumnElement[bool]] = []
    for f in spec.filters:
        values = select(MemberFieldValue.member_id).where(
            MemberFieldValue.church_id == church_id, MemberFieldValue.field_id == f.field_id
        )
        if f.op == "is":
            values = values.where(MemberFieldValue.value_text == f.value)
        else:
            # month*100+day ignores the year: 3/1 .. 3/31 of any year is 301 .. 331.
            month = church_month(church_id) * literal(100)
            values = values.where(MemberFieldValue.value_month_day.between(month + 1, month + 31))
        out.append(Member.id.in_(values))
    return out


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
    narrowed = _narrowed(church_id, spec)
    if spec.everyone:
        branches.append(select(Member.id).where(Member.church_id == church_id, Member.is_unknown.is_(False), *narrowed))
    if spec.group_ids:
        branches.append(
            select(GroupMember.member_id)
            .join(Member, Member.id == GroupMember.member_id)
            .where(GroupMember.church_id == church_id, GroupMember.group_id.in_(spec.group_ids), *narrowed)
        )
    if spec.branch_ids:
        branches.append(
            select(Member.id).where(Member.church_id == church_id, Member.branch_id.in_(spec.branch_ids), *narrowed)
        )
    if spec.member_ids:
        branches.append(
            select(Member.id).where(Member.church_id == church_id, Member.id.in_(spec.member_ids), *narrowed)
        )
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
