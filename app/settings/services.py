"""The church's own settings, branches and sending numbers (owners and admins)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time
from functools import cache
from zoneinfo import available_timezones

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from app import audit
from app.broadcasts.quiet_hours import quiet_until
from app.broadcasts.services import enqueue_batches
from app.delivery import Provider, ProviderError
from app.errors import Conflict, PermissionDenied, ValidationError
from app.extensions import db
from app.models import Branch, Church, PhoneNumber, User
from app.tenancy import scoped

log = logging.getLogger(__name__)

# Real entries of the tz database that name no place anyone lives in.
_NOT_ZONES = {"localtime", "Factory", "posixrules"}


@cache
def timezones() -> frozenset[str]:
    """Every IANA zone a church may pick (read from the tz database once per process)."""
    return frozenset(available_timezones() - _NOT_ZONES)


def require_admin(actor: User) -> None:
    if not actor.is_admin:
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
    added = branch.id is None
    branch.name = name.strip()
    branch.address = (address or "").strip() or None
    changed = audit.changes(branch, ("name", "address"))
    _flush(f"There is already a branch called “{branch.name}”.")
    if added or changed:
        detail = {"section": "branches", "branch": branch.name, "change": "added" if added else "edited"}
        audit.record("settings.changed", target=branch, actor=actor, detail={**detail, **({} if added else changed)})
    return branch


def delete_branch(actor: User, branch: Branch) -> None:
    """Delete a branch; its members and numbers stay, without a branch (ON DELETE SET NULL)."""
    require_admin(actor)
    detail = {"section": "branches", "branch": branch.name, "change": "deleted"}
    audit.record("settings.changed", target=branch, actor=actor, detail=detail)
    db.session.delete(branch)
    db.session.flush()


def _own_branch(actor: User, branch_id: int | None) -> int | None:
    if not branch_id:
        return None
    found = db.session.scalar(select(Branch.id).where(Branch.church_id == actor.church_id, Branch.id == branch_id))
    return found


# One answer for "another church sends from it" and "your provider account does not hold it":
# telling them apart would let any church find out which numbers other churches use.
NOT_YOURS = "This number is not one your church can send from: check it is on your Telnyx account."
ALREADY_YOURS = "This number is already one of your church's."
UNCHECKED = "We could not check this number with Telnyx just now. Try again in a minute."


def save_number(
    actor: User, number: PhoneNumber | None, e164: str, number_type: str, branch_id: int | None, provider: Provider
) -> PhoneNumber:
    """Add or change a sending number. A number is unique across Koinonia; a branch has at most one.

    A number new to the church must be one the provider account holds, asked of the provider.
    """
    require_admin(actor)
    own_branch = _own_branch(actor, branch_id)
    current_id = number.id if number is not None else 0
    owner = db.session.scalar(
        select(PhoneNumber.church_id).where(PhoneNumber.e164 == e164, PhoneNumber.id != current_id)
    )
    if owner == actor.church_id:
        raise Conflict(ALREADY_YOURS)
    if number is None or number.e164 != e164:
        _require_held(provider, e164)
    if owner is not None:
        raise Conflict(NOT_YOURS)
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
    added = number.id is None
    number.e164, number.number_type, number.branch_id = e164, number_type, own_branch
    changed = audit.changes(number, ("e164", "number_type", "branch_id"))
    _flush(NOT_YOURS)
    if added or changed:
        detail = {"section": "numbers", "number": number.e164, "change": "added" if added else "edited"}
        audit.record("settings.changed", target=number, actor=actor, detail={**detail, **({} if added else changed)})
    return number


def _require_held(provider: Provider, e164: str) -> None:
    try:
        held = provider.holds_number(e164)
    except ProviderError as err:
        log.warning("number check failed", extra={"error": str(err)})
        raise Conflict(UNCHECKED) from None
    if not held:
        raise Conflict(NOT_YOURS)


def delete_number(actor: User, number: PhoneNumber) -> None:
    require_admin(actor)
    detail = {"section": "numbers", "number": number.e164, "change": "removed"}
    audit.record("settings.changed", target=number, actor=actor, detail=detail)
    db.session.delete(number)
    db.session.flush()


# What the church settings form changes, as the audit log names it.
CHURCH_FIELDS = ("name", "timezone", "quiet_hours_start", "quiet_hours_end", "help_text", "leaders_can_send")


@dataclass(frozen=True)
class ChurchSaved:
    """What a save of the church settings means for broadcasts held by quiet hours.

    `retry_in` is None when nothing changes for them, 0 when they may send now, or the seconds
    until the new (earlier) end of quiet hours.
    """

    church: Church
    retry_in: float | None


def save_church(
    actor: User,
    church: Church,
    *,
    name: str,
    timezone: str,
    quiet_hours: tuple[time, time] | None,
    help_text: str | None,
    leaders_can_send: bool,
) -> ChurchSaved:
    """Change the actor's own church; `quiet_hours` None means none (both times NULL)."""
    require_admin(actor)
    if church.id != actor.church_id:
        raise PermissionDenied("You can only change your own church.")
    if timezone not in timezones():
        raise ValidationError(f"{timezone} is not a time zone.")
    if quiet_hours is not None and quiet_hours[0] == quiet_hours[1]:
        raise ValidationError("Quiet hours must end at a different time than they start.")
    now = datetime.now(UTC)
    before = (church.timezone, church.quiet_hours_start, church.quiet_hours_end)
    held_until = quiet_until(church, now)
    church.name = name.strip()
    church.timezone = timezone
    church.quiet_hours_start, church.quiet_hours_end = quiet_hours or (None, None)
    church.help_text = (help_text or "").strip() or None
    church.leaders_can_send = bool(leaders_can_send)
    changed = audit.changes(church, CHURCH_FIELDS, hidden=("help_text",))
    if changed:
        audit.record("settings.changed", target=church, actor=actor, detail={"section": "church", **changed})
    db.session.flush()
    if before == (church.timezone, church.quiet_hours_start, church.quiet_hours_end):
        return ChurchSaved(church, None)
    return ChurchSaved(church, _retry_in(held_until, quiet_until(church, now), now))


def _retry_in(held_until: datetime | None, new_until: datetime | None, now: datetime) -> float | None:
    """When broadcasts deferred to `held_until` should try again under the new quiet hours."""
    if new_until is None:
        # Deferred jobs may date from before this moment's settings, so release even when
        # the old settings would not hold now either: a spare job finds nothing and ends.
        return 0.0
    if held_until is not None and new_until < held_until:
        return (new_until - now).total_seconds()
    return None


def release_quiet_hold(church_id: int, retry_in: float | None) -> int:
    """Enqueue batch jobs for the church's sending broadcasts that still have queued recipients.

    Called after the commit that changed quiet hours. The jobs deferred to the old morning time
    stay scheduled; send_batch claims with SKIP LOCKED, so whichever runs second finds nothing
    left and nobody is texted twice. Returns how many broadcasts were released.
    """
    if retry_in is None:
        return 0
    held = db.session.execute(
        text(
            "SELECT r.broadcast_id, count(*) FROM broadcasts b "
            "JOIN broadcast_recipients r ON r.broadcast_id = b.id AND r.status = 'queued' "
            "WHERE b.church_id = :c AND b.status = 'sending' GROUP BY r.broadcast_id ORDER BY r.broadcast_id"
        ),
        {"c": church_id},
    ).all()
    for broadcast_id, queued in held:
        enqueue_batches(broadcast_id, queued, delay=retry_in or None)
    if held:
        log.info("quiet hours changed: held broadcasts released", extra={"church_id": church_id, "count": len(held)})
    return len(held)
