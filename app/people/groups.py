"""Groups (ministries): the list with member counts, create / edit / delete, members and leaders.

Leaders see and open only the groups they lead, and change nothing here; owners and admins
manage everything. As in services.py, the rule lives in these functions, not in templates.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from app import cache
from app.errors import Conflict, PermissionDenied, ValidationError
from app.extensions import db
from app.models import Group, GroupLeader, GroupMember, User
from app.people.services import audit, bulk_add_to_group, require_admin
from app.tenancy import scoped


@dataclass(frozen=True)
class GroupSummary:
    group: Group
    member_count: int
    leaders: list[str]


def leads(actor: User, group: Group) -> bool:
    """Whether the actor is one of the group's leaders."""
    stmt = select(GroupLeader.user_id).where(GroupLeader.group_id == group.id, GroupLeader.user_id == actor.id)
    return db.session.scalar(stmt) is not None


def can_open(actor: User, group: Group) -> bool:
    return group.church_id == actor.church_id and (actor.is_admin or leads(actor, group))


def require_open(actor: User, group: Group) -> None:
    if not can_open(actor, group):
        raise PermissionDenied("You can only open the groups you lead.")


def visible_groups(actor: User) -> list[Group]:
    """The groups the actor may see, by name: all of them for admins, their own for leaders."""
    stmt = scoped(Group, actor.church_id).order_by(Group.name)
    if not actor.is_admin:
        stmt = stmt.join(GroupLeader, GroupLeader.group_id == Group.id).where(GroupLeader.user_id == actor.id)
    return list(db.session.scalars(stmt))


def list_groups(actor: User) -> list[GroupSummary]:
    """Groups with member counts (one GROUP BY over group_members) and leader names."""
    groups = visible_groups(actor)
    ids = [g.id for g in groups]
    counts = dict(
        db.session.execute(
            select(GroupMember.group_id, func.count())
            .where(GroupMember.church_id == actor.church_id, GroupMember.group_id.in_(ids))
            .group_by(GroupMember.group_id)
        ).all()
    )
    leaders: dict[int, list[str]] = {}
    rows = db.session.execute(
        select(GroupLeader.group_id, User.name, User.email)
        .join(User, User.id == GroupLeader.user_id)
        .where(GroupLeader.church_id == actor.church_id, GroupLeader.group_id.in_(ids))
        .order_by(User.name, User.email)
    )
    for group_id, name, email in rows:
        leaders.setdefault(group_id, []).append(name or email)
    return [GroupSummary(g, counts.get(g.id, 0), leaders.get(g.id, [])) for g in groups]


def member_count(group: Group) -> int:
    stmt = select(func.count()).where(GroupMember.group_id == group.id, GroupMember.church_id == group.church_id)
    return db.session.scalar(stmt) or 0


def _save(group: Group) -> Group:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(f"There is already a group called “{group.name}”.") from None
    return group


def create_group(actor: User, name: str, description: str | None = None) -> Group:
    require_admin(actor)
    group = Group(church_id=actor.church_id, name=name.strip(), description=(description or "").strip() or None)
    db.session.add(group)
    _save(group)
    audit(actor, "group.created", group.id)
    return group


def update_group(actor: User, group: Group, name: str, description: str | None = None) -> Group:
    require_admin(actor)
    group.name = name.strip()
    group.description = (description or "").strip() or None
    _save(group)
    audit(actor, "group.updated", group.id)
    return group


def delete_group(actor: User, group: Group) -> None:
    """Delete a group; its members stay members (only the memberships go)."""
    require_admin(actor)
    audit(actor, "group.deleted", group.id, name=group.name)
    db.session.delete(group)
    db.session.flush()


def add_members(actor: User, group: Group, member_ids: list[int]) -> int:
    """Add members found by the group page's search."""
    _, added = bulk_add_to_group(actor, member_ids, group.id)
    return added


# --- leaders ------------------------------------------------------------------------------------


def leaders_of(group: Group) -> list[User]:
    stmt = (
        select(User)
        .join(GroupLeader, GroupLeader.user_id == User.id)
        .where(GroupLeader.group_id == group.id)
        .order_by(User.name, User.email)
    )
    return list(db.session.scalars(stmt))


def leader_candidates(group: Group) -> list[User]:
    """Users with the leader role in the church who do not lead this group yet."""
    current = select(GroupLeader.user_id).where(GroupLeader.group_id == group.id)
    stmt = (
        scoped(User, group.church_id)
        .where(User.role == "leader", User.active.is_(True), User.id.not_in(current))
        .order_by(User.name, User.email)
    )
    return list(db.session.scalars(stmt))


def assign_leader(actor: User, group: Group, user_id: int | None) -> User:
    """Make a leader of the church lead this group (idempotent)."""
    require_admin(actor)
    user = db.session.scalar(scoped(User, actor.church_id).where(User.id == (user_id or 0)))
    if user is None or not user.is_leader:
        raise ValidationError("Choose a user with the leader role.")
    stmt = pg_insert(GroupLeader).values(church_id=actor.church_id, group_id=group.id, user_id=user.id)
    db.session.execute(stmt.on_conflict_do_nothing())
    cache.bump(("groups", actor.church_id))
    audit(actor, "group.leader_assigned", group.id, user_id=user.id)
    return user


def remove_leader(actor: User, group: Group, user: User) -> None:
    require_admin(actor)
    db.session.execute(delete(GroupLeader).where(GroupLeader.group_id == group.id, GroupLeader.user_id == user.id))
    cache.bump(("groups", actor.church_id))
    audit(actor, "group.leader_removed", group.id, user_id=user.id)
