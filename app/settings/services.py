"""Branches and sending numbers (owners and admins)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, PermissionDenied
from app.extensions import db
from app.models import Branch, PhoneNumber, User
from app.tenancy import scoped

ADMIN_ROLES = ("owner", "admin")


def require_admin(actor: User) -> None:
    if actor.role not in ADMIN_ROLES:
        raise PermissionDenied("Only owners and admins can change settings.")


@dataclass(frozen=True)
class BranchRow:
    branch: Branch
    numbers: list[PhoneNumber]


def branches_with_numbers(church_id: int) -> tuple[list[BranchRow], list[PhoneNumber]]:
    """Branches (by name) with their numbers, and the church-wide numbers that belong to no branch."""
    branches = db.session.scalars(scoped(Branch, church_id).order_by(Branch.name)).all()
    numbers = db.session.scalars(scoped(PhoneNumber, church_id).order_by(PhoneNumber.e164)).all()
    by_branch: dict[int, list[PhoneNumber]] = {}
    for n in numbers:
        by_branch.setdefault(n.branch_id or 0, []).append(n)
    return [BranchRow(b, by_branch.get(b.id, [])) for b in branches], by_branch.get(0, [])


def _flush(message: str) -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(message) from None


def save_branch(actor: User, branch: Branch | None, name: str, address: str | None) -> Branch:
    require_admin(actor)
    if branch is None:
        branch = Branch(church_id=actor.church_id)
        db.session.add(branch)
    branch.name = name.strip()
    branch.address = (address or "").strip() or None
    _flush(f"There is already a branch called “{branch.name}”.")
    return branch


def delete_branch(actor: User, branch: Branch) -> None:
    """Delete a branch; its members and numbers stay, without a branch (ON DELETE SET NULL)."""
    require_admin(actor)
    db.session.delete(branch)
    db.session.flush()


def _own_branch(actor: User, branch_id: int | None) -> int | None:
    if not branch_id:
        return None
    found = db.session.scalar(select(Branch.id).where(Branch.church_id == actor.church_id, Branch.id == branch_id))
    return found


def save_number(
    actor: User, number: PhoneNumber | None, e164: str, number_type: str, branch_id: int | None
) -> PhoneNumber:
    """Add or change a sending number. A number is unique across Koinonia; a branch has at most one."""
    require_admin(actor)
    own_branch = _own_branch(actor, branch_id)
    current_id = number.id if number is not None else 0
    taken = db.session.scalar(select(PhoneNumber.id).where(PhoneNumber.e164 == e164, PhoneNumber.id != current_id))
    if taken is not None:
        raise Conflict("This number is already in use.")
    if own_branch:
        # One number per branch: the branch's previous number becomes church-wide.
        db.session.execute(
            update(PhoneNumber)
            .where(PhoneNumber.branch_id == own_branch, PhoneNumber.id != current_id)
            .values(branch_id=None)
        )
    if number is None:
        number = PhoneNumber(church_id=actor.church_id)
        db.session.add(number)
    number.e164, number.number_type, number.branch_id = e164, number_type, own_branch
    _flush("This number is already in use.")
    return number


def delete_number(actor: User, number: PhoneNumber) -> None:
    require_admin(actor)
    db.session.delete(number)
    db.session.flush()
