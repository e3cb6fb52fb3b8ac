"""Members: the list, create / edit / delete, notes and bulk actions, with who may do what checked here.

Routes stay thin and templates only hide buttons; the rule itself lives in these functions, so a
leader who crafts a POST by hand meets the same PermissionDenied as the one who clicks.
Services take the acting user and plain values (no `request`), so tests, jobs and the bench call them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from app import audit as audit_log
from app import cache
from app.cache.registry import members_changed
from app.errors import Conflict, PermissionDenied, ValidationError
from app.extensions import db
from app.models import Branch, ConsentEvent, Group, GroupMember, Member, User
from app.outbound_webhooks import events as webhook_events
from app.people import custom_fields
from app.people.counts import MemberCount, count_members
from app.people.keyset import PAGE_SIZE
from app.people.page_shapes import member_page
from app.people.queries import MemberFilters, leader_scope, member_select
from app.tenancy import scoped

MAX_BULK = 1000
# "Every member matching this list": one bulk action reaches at most this many.
MAX_MATCHING = 10_000
MAX_NOTE = 2000


def require_admin(actor: User) -> None:
    """Owners and admins manage members; leaders only read them and add notes."""
    if not actor.is_admin:
        raise PermissionDenied("Only owners and admins can change members.")


def can_see_member(actor: User, member: Member) -> bool:
    """Admins see every member of their church; a leader sees members of the groups they lead."""
    if member.church_id != actor.church_id:
        return False
    scope = leader_scope(actor)
    if scope is None:
        return True
    return bool(db.session.scalar(select(literal(True)).where(Member.id == member.id, scope)))


def require_visible(actor: User, member: Member) -> None:
    if not can_see_member(actor, member):
        raise PermissionDenied("This member is not in a group you lead.")


# --- the list -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberRow:
    """A member as a list row shows it: with group and branch names (in the page's own query, row_names)."""

    member: Member
    groups: list[str] = field(default_factory=list)
    branch: str | None = None


@dataclass(frozen=True)
class MemberList:
    filters: MemberFilters
    rows: list[MemberRow]
    next_cursor: str | None
    prev_cursor: str | None
    total: MemberCount | None


def list_members(
    actor: User,
    filters: MemberFilters,
    *,
    after: str | None = None,
    before: str | None = None,
    with_total: bool = True,
    not_in_group_id: int | None = None,
    limit: int = PAGE_SIZE,
) -> MemberList:
    """One keyset page of the members `actor` may see that match `filters` (the count only when asked)."""
    page = member_page(actor, filters, after=after, before=before, not_in_group_id=not_in_group_id, limit=limit).read()
    total = count_members(actor, filters) if with_total and not not_in_group_id else None
    rows = [MemberRow(member, groups or [], branch) for member, groups, branch in page.rows]
    return MemberList(filters, rows, page.next_cursor, page.prev_cursor, total)


# --- one member ---------------------------------------------------------------------------------


@dataclass
class MemberInput:
    """What the member form collects, already validated and normalised (phone in E.164)."""

    first_name: str
    last_name: str
    phone_e164: str
    email: str | None = None
    branch_id: int | None = None
    group_ids: list[int] = field(default_factory=list)
    language: str = "en"
    notes: str | None = None
    # Custom field id -> typed value (None clears); fields not named are left as they are.
    custom: dict[int, Any] = field(default_factory=dict)


def phone_owner(church_id: int, e164: str, exclude_id: int | None = None) -> Member | None:
    """The member of this church who already has this number (other than `exclude_id`)."""
    stmt = scoped(Member, church_id).where(Member.phone_e164 == e164)
    if exclude_id:
        stmt = stmt.where(Member.id != exclude_id)
    return db.session.scalar(stmt)


def _own_ids(model: type, church_id: int, ids: Iterable[int]) -> list[int]:
    """The ids among `ids` that are rows of this church (ids from a form are never trusted)."""
    wanted = {int(i) for i in ids}
    if not wanted:
        return []
    return list(db.session.scalars(select(model.id).where(model.church_id == church_id, model.id.in_(wanted))))


def _apply(member: Member, data: MemberInput, church_id: int) -> None:
    member.first_name = data.first_name.strip()
    member.last_name = data.last_name.strip()
    member.phone_e164 = data.phone_e164
    member.email = (data.email or "").strip().lower() or None
    member.branch_id = data.branch_id if data.branch_id and _own_ids(Branch, church_id, [data.branch_id]) else None
    member.language = data.language or "en"
    member.notes = (data.notes or "").strip() or None


def _set_groups(member: Member, group_ids: Iterable[int]) -> None:
    """Make the member's groups exactly `group_ids` (set-based: one delete, one insert)."""
    wanted = _own_ids(Group, member.church_id, group_ids)
    db.session.execute(
        delete(GroupMember).where(GroupMember.member_id == member.id, GroupMember.group_id.not_in(wanted or [0]))
    )
    if wanted:
        rows = [{"church_id": member.church_id, "group_id": g, "member_id": member.id} for g in wanted]
        db.session.execute(pg_insert(GroupMember).values(rows).on_conflict_do_nothing())
    cache.bump(("groups", member.church_id))


def _flush_or_conflict(member: Member) -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        # Two people saved the same number at once; the form's own check saw neither. The session
        # still holds the unsaved change, so look the owner up without flushing it again.
        with db.session.no_autoflush:
            owner = phone_owner(member.church_id, member.phone_e164 or "", member.id)
        name = owner.full_name if owner else "another member"
        raise Conflict(f"This number already belongs to {name}.", details={"member_id": owner and owner.id}) from exc


def _set_custom(member: Member, values: dict[int, Any]) -> None:
    if values:
        custom_fields.write_values(member.church_id, member.id, values, custom_fields.church_fields(member.church_id))


def create_member(actor: User, data: MemberInput, *, source: str = "form", how: str = "on the member form") -> Member:
    """Add a member typed in by staff (or sent by the API); the consent ledger records who and how."""
    require_admin(actor)
    now = datetime.now(UTC)
    member = Member(church_id=actor.church_id, consent_source=source, consent_at=now)
    _apply(member, data, actor.church_id)
    db.session.add(member)
    _flush_or_conflict(member)
    _set_groups(member, data.group_ids)
    _set_custom(member, data.custom)
    db.session.add(
        ConsentEvent(
            church_id=actor.church_id,
            member_id=member.id,
            action="opt_in",
            source=source,
            user_id=actor.id,
            detail=f"Added {how} by {actor.display_name}",
        )
    )
    audit(actor, "member.created", member.id)
    webhook_events.member_created(member, source)
    return member


def update_member(actor: User, member: Member, data: MemberInput) -> Member:
    """Save the member form. Opt-out state is not part of it: only the member can opt back in (START)."""
    require_admin(actor)
    _apply(member, data, actor.church_id)
    _flush_or_conflict(member)
    _set_groups(member, data.group_ids)
    _set_custom(member, data.custom)
    audit(actor, "member.updated", member.id)
    return member


def delete_member(actor: User, member: Member) -> None:
    """Delete a member; their sends stay in broadcast history without the link (ON DELETE SET NULL)."""
    require_admin(actor)
    audit(actor, "member.deleted", member.id, name=member.full_name)
    db.session.delete(member)
    db.session.flush()


def add_note(actor: User, member: Member, text: str) -> None:
    """Append a dated, signed note; the one change leaders may make to the members they see."""
    require_visible(actor, member)
    body = (text or "").strip()
    if not body:
        raise ValidationError("Write the note first.")
    if len(body) > MAX_NOTE:
        raise ValidationError(f"Keep a note under {MAX_NOTE} characters.")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    entry = f"[{stamp}, {actor.display_name}] {body}"
    # One UPDATE appends, so two people adding notes at once both keep theirs.
    joined = func.coalesce(Member.notes + "\n\n", "") + entry
    db.session.execute(update(Member).where(Member.id == member.id).values(notes=joined))
    db.session.refresh(member)
    audit(actor, "member.noted", member.id)


# --- bulk ---------------------------------------------------------------------------------------


def _bulk_ids(actor: User, member_ids: Iterable[int]) -> list[int]:
    require_admin(actor)
    ids = list(dict.fromkeys(int(i) for i in member_ids))
    if not ids:
        raise ValidationError("Select at least one member.")
    if len(ids) > MAX_BULK:
        raise ValidationError(f"Select at most {MAX_BULK} members at a time.")
    return ids


def bulk_selection(actor: User, member_ids: Iterable[int] = (), matching: MemberFilters | None = None) -> Select:
    """SELECT the ids a bulk action applies to: the ticked members, or every member matching a filter.

    A filter is applied on the server, to the actor's church and what the actor may see (never a
    list of ids sent back), and refused beyond MAX_MATCHING members: narrow the list first.
    """
    if matching is None:
        ids = _bulk_ids(actor, member_ids)
        return select(Member.id).where(Member.church_id == actor.church_id, Member.id.in_(ids))
    require_admin(actor)
    chosen = member_select(actor, matching).with_only_columns(Member.id)
    found = db.session.scalar(select(func.count()).select_from(chosen.limit(MAX_MATCHING + 1).subquery())) or 0
    if found == 0:
        raise ValidationError("No members match this list.")
    if found > MAX_MATCHING:
        raise ValidationError(f"More than {MAX_MATCHING:,} members match: narrow the list first.")
    return chosen


def _own_group(actor: User, group_id: int | None) -> Group:
    group = db.session.scalar(scoped(Group, actor.church_id).where(Group.id == (group_id or 0)))
    if group is None:
        raise ValidationError("Choose a group.")
    return group


def bulk_add_to_group(
    actor: User, member_ids: Iterable[int], group_id: int | None, matching: MemberFilters | None = None
) -> tuple[Group, int]:
    """Add the selected members to a group in one INSERT … SELECT; returns the group and how many were new."""
    chosen_ids = bulk_selection(actor, member_ids, matching)
    group = _own_group(actor, group_id)
    chosen = select(literal(actor.church_id), literal(group.id), Member.id).where(
        Member.church_id == actor.church_id, Member.id.in_(chosen_ids)
    )
    stmt = (
        pg_insert(GroupMember)
        .from_select(["church_id", "group_id", "member_id"], chosen)
        .on_conflict_do_nothing()
        .returning(GroupMember.member_id)
    )
    added = len(db.session.execute(stmt).all())
    cache.bump(("groups", actor.church_id))
    audit(actor, "group.members_added", group.id, count=added)
    return group, added


def bulk_remove_from_group(
    actor: User, member_ids: Iterable[int], group_id: int | None, matching: MemberFilters | None = None
) -> tuple[Group, int]:
    """Take the selected members out of a group (their other groups are untouched)."""
    chosen_ids = bulk_selection(actor, member_ids, matching)
    group = _own_group(actor, group_id)
    stmt = delete(GroupMember).where(
        GroupMember.church_id == actor.church_id,
        GroupMember.group_id == group.id,
        GroupMember.member_id.in_(chosen_ids),
    )
    removed = db.session.execute(stmt).rowcount or 0
    cache.bump(("groups", actor.church_id))
    audit(actor, "group.members_removed", group.id, count=removed)
    return group, removed


def members_to_delete(
    actor: User, member_ids: Iterable[int], matching: MemberFilters | None = None, shown: int = 20
) -> tuple[int, list[Member]]:
    """How many members the delete confirmation is about, and the first `shown` of them by name."""
    chosen_ids = bulk_selection(actor, member_ids, matching)
    total = db.session.scalar(select(func.count()).select_from(chosen_ids.subquery())) or 0
    stmt = (
        scoped(Member, actor.church_id)
        .where(Member.id.in_(chosen_ids))
        .order_by(Member.last_name, Member.first_name)
        .limit(shown)
    )
    return total, list(db.session.scalars(stmt))


def bulk_delete(actor: User, member_ids: Iterable[int], matching: MemberFilters | None = None) -> int:
    """Delete the selected members in one statement; returns how many went."""
    ids = list(db.session.scalars(bulk_selection(actor, member_ids, matching)))
    # Their conversations and memberships go with them (ON DELETE CASCADE): name them first.
    members_changed(actor.church_id, ids)
    cache.bump(("groups", actor.church_id))
    stmt = delete(Member).where(Member.church_id == actor.church_id, Member.id.in_(ids))
    deleted = db.session.execute(stmt).rowcount or 0
    audit(actor, "members.deleted", None, count=deleted, ids=ids[: audit_log.MAX_DETAIL_ITEMS])
    return deleted


def audit(actor: User, action: str, target_id: int | None, **detail: object) -> None:
    """Record who changed which member or group (app.audit, with the change itself)."""
    kind = action.split(".", 1)[0].removesuffix("s")
    audit_log.record(action, target=(kind, target_id) if target_id is not None else None, detail=detail, actor=actor)
