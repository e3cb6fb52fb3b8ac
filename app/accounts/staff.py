"""A church's staff: who they are, their roles, deactivation, and handing ownership on.

Every change that could leave a church without an active owner first locks the church's row
(`SELECT … FOR UPDATE`) and only then counts the owners, so two people demoting or deactivating
the last two owners at once are taken one after the other: the second sees one owner left and
is refused. A change of role or of `active` ends the person's sessions (models.tenancy's
SESSION_ENDING_FIELDS).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from app import audit
from app.accounts.invitations import INVITABLE_ROLES
from app.auth.services import verify_password
from app.errors import Conflict, PermissionDenied, ValidationError
from app.extensions import db
from app.models import Church, Group, GroupLeader, User
from app.tenancy import scoped

STAFF_SHOWN = 500  # a church's staff fits one page


class LastOwner(Conflict):
    """The change would leave the church without an active owner."""


def two_factor_label(user: User) -> str:
    """What the staff list shows in its two-factor column."""
    return "On" if user.two_factor_enabled else "Off"


@dataclass(frozen=True)
class StaffRow:
    user: User
    groups: list[str]
    two_factor: str


def staff(church_id: int) -> list[StaffRow]:
    """The church's users, owners first, each with the groups they lead."""
    rank = case({"owner": 0, "admin": 1}, value=User.role, else_=2)
    users = list(
        db.session.scalars(
            scoped(User, church_id)
            .order_by(User.active.desc(), rank, func.lower(func.coalesce(User.name, User.email)))
            .limit(STAFF_SHOWN)
        )
    )
    led: dict[int, list[str]] = {}
    rows = db.session.execute(
        select(GroupLeader.user_id, Group.name)
        .join(Group, Group.id == GroupLeader.group_id)
        .where(GroupLeader.church_id == church_id)
        .order_by(Group.name)
    )
    for user_id, name in rows:
        led.setdefault(user_id, []).append(name)
    return [StaffRow(u, led.get(u.id, []), two_factor_label(u)) for u in users]


def _lock_church(church_id: int) -> None:
    """Serialise the church's changes to owners (see the module docstring)."""
    db.session.execute(select(Church.id).where(Church.id == church_id).with_for_update())


def _other_active_owners(church_id: int, user_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.church_id == church_id, User.role == "owner", User.active.is_(True), User.id != user_id)
    )


def _locked_target(actor: User, user_id: int) -> User:
    """Lock the church, then read the actor and the target afresh (either may have changed while we waited)."""
    _lock_church(actor.church_id)
    db.session.refresh(actor)
    if not actor.is_admin or not actor.active:
        raise PermissionDenied("Only owners and admins manage staff.")
    target = db.session.scalar(
        scoped(User, actor.church_id).where(User.id == user_id).execution_options(populate_existing=True)
    )
    if target is None:
        raise ValidationError("No such person on your staff.")
    if target.is_owner and not actor.is_owner:
        raise PermissionDenied("Only an owner can change an owner.")
    return target


def _keep_an_owner(target: User) -> None:
    if target.is_owner and target.active and _other_active_owners(target.church_id, target.id) == 0:
        raise LastOwner(
            f"{target.display_name} is the church's only owner. Make someone else owner first (Transfer ownership)."
        )


def change_role(actor: User, user_id: int, role: str) -> User:
    """Make a person admin or leader (owners become so only by a transfer)."""
    if role not in INVITABLE_ROLES:
        raise ValidationError("Choose admin or leader.")
    target = _locked_target(actor, user_id)
    if target.role == role:
        return target
    _keep_an_owner(target)
    previous, target.role = target.role, role
    audit.record("staff.role_changed", target=target, detail={"role": role, "previous": previous}, actor=actor)
    return target


def set_active(actor: User, user_id: int, active: bool) -> User:
    """Deactivate (their sessions end, they cannot sign in) or reactivate a person."""
    target = _locked_target(actor, user_id)
    if target.active == active:
        return target
    if not active:
        if target.id == actor.id:
            raise Conflict("You cannot deactivate yourself.")
        _keep_an_owner(target)
    target.active = active
    audit.record("staff.reactivated" if active else "staff.deactivated", target=target, actor=actor)
    return target


def transfer_candidates(actor: User) -> list[User]:
    """Who can be made owner: the church's other active staff."""
    return list(
        db.session.scalars(
            scoped(User, actor.church_id)
            .where(User.active.is_(True), User.id != actor.id, User.role != "owner")
            .order_by(func.lower(func.coalesce(User.name, User.email)))
        )
    )


def transfer_ownership(actor: User, user_id: int, password: str) -> User | None:
    """Make another active person owner and the actor an admin; None when the password is wrong."""
    if not actor.is_owner:
        raise PermissionDenied("Only the owner can hand ownership on.")
    if not verify_password(actor.password_hash, password):
        return None
    target = _locked_target(actor, user_id)
    if not actor.is_owner:
        raise PermissionDenied("Only the owner can hand ownership on.")
    if target.id == actor.id or target.is_owner:
        raise ValidationError("Choose someone who is not an owner already.")
    if not target.active:
        raise ValidationError(f"{target.display_name} is deactivated: reactivate them first.")
    target.role, actor.role = "owner", "admin"
    audit.record("staff.ownership_transferred", target=target, actor=actor)
    return target
