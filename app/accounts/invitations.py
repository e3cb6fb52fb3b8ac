"""Staff invitations: a one-time link (7 days) that lets a person join a church with a role.

An invitation is an account token of purpose `staff_invitation` (app.accounts.tokens): only its
hash is stored, it names the church, and its payload holds the role, the groups a leader will
lead and who invited. Resending spends the old link and mails a new one; revoking spends it.
Accepting spends it in the same transaction that makes the user, so a link makes one account.

Nothing here tells an inviter about another church's users: an address with an account
elsewhere gets a note by mail ("you already have an account") and the inviter sees the same
"invitation sent" as for a new address. Only the church's own staff are named ("already on
your staff").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from app import audit, mail
from app.accounts import tokens
from app.auth.services import find_user_by_email, hash_password
from app.errors import Conflict, PermissionDenied, ValidationError
from app.extensions import db
from app.models import AccountToken, Church, Group, GroupLeader, User
from app.security.masking import mask_email
from app.tenancy import scoped

log = logging.getLogger(__name__)

INVITABLE_ROLES = ("admin", "leader")
PENDING_SHOWN = 100  # the newest pending invitations a staff page lists


class AlreadyStaff(Conflict):
    """The address belongs to someone on this church's staff already."""


class EmailTaken(Exception):
    """The invited address got an account before the invitation was accepted."""


@dataclass(frozen=True)
class PendingInvitation:
    id: int
    email: str
    role: str
    invited_by: str
    groups: list[str]
    expires_at: datetime
    expired: bool


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise PermissionDenied("Only owners and admins manage staff.")


def church_group_ids(church_id: int, group_ids: list[int]) -> list[int]:
    """The ids among `group_ids` that are groups of this church, in order."""
    if not group_ids:
        return []
    found = set(db.session.scalars(scoped(Group, church_id).with_only_columns(Group.id).where(Group.id.in_(group_ids))))
    return [gid for gid in dict.fromkeys(group_ids) if gid in found]


def _pending_query(church_id: int):
    return select(AccountToken).where(
        AccountToken.purpose == tokens.INVITATION,
        AccountToken.church_id == church_id,
        AccountToken.used_at.is_(None),
    )


def get_invitation(church_id: int, invitation_id: int) -> AccountToken | None:
    """An unused invitation of this church (expired ones too: they can be resent), or None."""
    return db.session.scalar(_pending_query(church_id).where(AccountToken.id == invitation_id))


def pending(church_id: int) -> list[PendingInvitation]:
    """The church's unused invitations, newest first, expired ones marked."""
    rows = list(
        db.session.scalars(_pending_query(church_id).order_by(AccountToken.created_at.desc()).limit(PENDING_SHOWN))
    )
    user_ids = {int(row.payload.get("invited_by") or 0) for row in rows if row.payload}
    group_ids = {gid for row in rows if row.payload for gid in row.payload.get("group_ids") or []}
    names = {
        u.id: u.display_name for u in db.session.scalars(scoped(User, church_id).where(User.id.in_(user_ids or [0])))
    }
    group_names = dict(
        db.session.execute(
            scoped(Group, church_id).with_only_columns(Group.id, Group.name).where(Group.id.in_(group_ids or [0]))
        ).all()
    )
    now = datetime.now(UTC)
    return [
        PendingInvitation(
            id=row.id,
            email=row.email,
            role=(row.payload or {}).get("role", "leader"),
            invited_by=names.get(int((row.payload or {}).get("invited_by") or 0), "someone no longer on staff"),
            groups=[group_names[g] for g in (row.payload or {}).get("group_ids") or [] if g in group_names],
            expires_at=row.expires_at,
            expired=row.expires_at <= now,
        )
        for row in rows
    ]


def _mail_invitation(actor: User, email: str, token: str, role: str) -> None:
    church: Church = actor.church
    expires = (datetime.now(UTC) + tokens.TTL[tokens.INVITATION]).astimezone(ZoneInfo(church.timezone))
    mail.send(
        email,
        "invitation",
        church_id=church.id,  # its admins see in /ops an invitation that could not be sent
        inviter=actor.display_name,
        church_name=church.name,
        role=role,
        days=tokens.TTL[tokens.INVITATION].days,
        expires=expires.strftime("%-d %B %Y"),
        link=mail.absolute_url("accounts.accept_invitation", token=token),
    )


def _spend_pending_for(church_id: int, email: str) -> None:
    """Spend the church's unused invitations to this address: one live link per person."""
    db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.purpose == tokens.INVITATION,
            AccountToken.church_id == church_id,
            AccountToken.used_at.is_(None),
            func.lower(AccountToken.email) == email.strip().lower(),
        )
        .values(used_at=text("now()"))
    )


def invite(actor: User, email: str, role: str, group_ids: list[int]) -> None:
    """Mail an invitation to join the actor's church; raises AlreadyStaff for the church's own staff.

    An address with an account in another church is mailed a note instead, and the caller says
    "invitation sent" all the same.
    """
    _require_admin(actor)
    if role not in INVITABLE_ROLES:
        raise ValidationError("Choose admin or leader.")
    email = email.strip()
    existing = find_user_by_email(email)
    if existing is not None and existing.church_id == actor.church_id:
        state = "on your staff" if existing.active else "on your staff, deactivated: reactivate them below"
        raise AlreadyStaff(f"{existing.email} is already {state}.")
    # The same row whether or not the address has an account elsewhere (the log must not tell).
    audit.record("staff.invited", detail={"email": email, "role": role}, actor=actor)
    if existing is not None:
        # No church_id: a failure shown in the inviting church's /ops would name this template,
        # telling its admins that the address has an account elsewhere.
        mail.send(
            existing.email,
            "invitation_existing",
            name=existing.display_name,
            inviter=actor.display_name,
            church_name=actor.church.name,
            link=mail.absolute_url("auth.login"),
        )
        log.info("invitation to an address with an account", extra={"to": mask_email(email)})
        return
    groups = church_group_ids(actor.church_id, group_ids) if role == "leader" else []
    _spend_pending_for(actor.church_id, email)
    payload = {"role": role, "group_ids": groups, "invited_by": actor.id}
    token = tokens.issue(tokens.INVITATION, email, church_id=actor.church_id, payload=payload)
    _mail_invitation(actor, email.lower(), token, role)
    log.info("staff invited", extra={"church_id": actor.church_id, "to": mask_email(email)})


def resend(actor: User, invitation: AccountToken) -> None:
    """A new link for the same role and groups (seven days again); the old link stops working."""
    _require_admin(actor)
    payload = dict(invitation.payload or {})
    if payload.get("role") not in INVITABLE_ROLES:
        raise ValidationError("This invitation cannot be resent.")
    _spend_pending_for(actor.church_id, invitation.email)
    payload["invited_by"] = actor.id
    payload["group_ids"] = church_group_ids(actor.church_id, payload.get("group_ids") or [])
    token = tokens.issue(tokens.INVITATION, invitation.email, church_id=actor.church_id, payload=payload)
    _mail_invitation(actor, invitation.email, token, payload["role"])


def revoke(actor: User, invitation: AccountToken) -> None:
    """The link stops working; nobody is told."""
    _require_admin(actor)
    _spend_pending_for(actor.church_id, invitation.email)
    audit.record("staff.invitation_revoked", detail={"email": invitation.email}, actor=actor)


def accept(token: str, name: str, password: str) -> User | None:
    """Spend the invitation and make the person's account in its church; None when the link is spent.

    Raises EmailTaken when the address has an account by now (the caller rolls back, and the
    link stays unspent).
    """
    row = tokens.spend(tokens.INVITATION, token)
    if row is None or row.church_id is None or not row.payload:
        return None
    role = row.payload.get("role")
    if role not in INVITABLE_ROLES:
        return None
    if find_user_by_email(row.email) is not None:
        raise EmailTaken(row.email)
    now = datetime.now(UTC)
    user = User(
        church_id=row.church_id,
        email=row.email,
        name=name.strip(),
        password_hash=hash_password(password),
        role=role,
        email_verified_at=now,  # the link was opened from this address
        last_login_at=now,
    )
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same address accepted in parallel
        raise EmailTaken(row.email) from exc
    if role == "leader":
        for group_id in church_group_ids(row.church_id, row.payload.get("group_ids") or []):
            db.session.add(GroupLeader(church_id=row.church_id, group_id=group_id, user_id=user.id))
    row.user_id = user.id
    audit.record("staff.joined", target=user, detail={"role": role}, church_id=row.church_id, actor=user)
    db.session.flush()
    log.info("invitation accepted", extra={"church_id": row.church_id, "user_id": user.id})
    return user
