"""What sign-up, password resets and the account page do; plain values in, no request.

Mail goes out through app.mail after the caller's commit. Nothing here says whether an address
has an account: a reset request or a sign-up with a known address does its work by mail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from app import audit, mail
from app.accounts import tokens
from app.auth.services import find_user_by_email, hash_password, verify_password
from app.billing.services import start_trial
from app.extensions import db
from app.models import Church, User
from app.provisioning import new_church
from app.security import throttle
from app.security.masking import mask_email
from app.security.throttle import Limit

log = logging.getLogger(__name__)

# Reset requests: a person rarely needs more than a couple; an address hammering the form stops.
RESET_LIMITS = (Limit("address", 10, 900), Limit("email", 3, 3600))
# Sign-ups: a church signs up once; a domain (a spammer's own) is capped, generous for gmail.com.
SIGNUP_LIMITS = (Limit("address", 5, 3600), Limit("domain", 20, 3600), Limit("email", 3, 3600))


def charge_reset(address: str, email: str) -> int:
    """Count a reset request; seconds to wait when over a limit, else 0."""
    address_limit, email_limit = RESET_LIMITS
    return throttle.charge("reset", [(address_limit, address), (email_limit, throttle.hashed(email))])


def charge_signup(address: str, email: str) -> int:
    """Count a sign-up; seconds to wait when over a limit, else 0."""
    domain = email.rpartition("@")[2].strip().lower()
    address_limit, domain_limit, email_limit = SIGNUP_LIMITS
    return throttle.charge(
        "signup", [(address_limit, address), (domain_limit, domain), (email_limit, throttle.hashed(email))]
    )


# --- forgotten passwords ----------------------------------------------------------------------


def request_password_reset(email: str) -> None:
    """Mail a one-hour reset link when an active account has this address; do nothing otherwise."""
    user = find_user_by_email(email)
    if user is None or not user.active:
        log.info("password reset asked for no account", extra={"to": mask_email(email)})
        return
    token = tokens.issue(tokens.PASSWORD_RESET, user.email, user=user)
    mail.send(
        user.email,
        "password_reset",
        church_id=user.church_id,
        name=user.display_name,
        link=mail.absolute_url("accounts.reset_password", token=token),
    )


def reset_password(token: str, password: str) -> User | None:
    """Spend the reset token and set the password (every session ends); None when the link is spent."""
    row = tokens.spend(tokens.PASSWORD_RESET, token)
    if row is None or row.user_id is None:
        return None
    user = db.session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    _set_password(user, password)
    audit.record("auth.password_reset", target=user, church_id=user.church_id, actor=user)
    # Opening the mail proved the address.
    user.email_verified_at = user.email_verified_at or datetime.now(UTC)
    return user


def _set_password(user: User, password: str) -> None:
    """New hash, other reset links spent, a notice by mail; the hash change ends every session."""
    user.password_hash = hash_password(password)
    tokens.spend_all(tokens.PASSWORD_RESET, user.id)
    mail.send(user.email, "password_changed", church_id=user.church_id, name=user.display_name, email=user.email)


# --- the account page -------------------------------------------------------------------------


def change_password(user: User, current: str, password: str) -> bool:
    """Set a new password when `current` is right; False otherwise (nothing changes)."""
    if not verify_password(user.password_hash, current):
        return False
    _set_password(user, password)
    audit.record("auth.password_changed", target=user, actor=user)
    return True


def update_profile(user: User, name: str, phone_e164: str | None = None) -> None:
    user.name = name.strip()
    user.phone_e164 = phone_e164


# --- sign-up ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signup:
    church_name: str
    timezone: str
    name: str
    email: str
    password: str


def request_signup(signup: Signup) -> None:
    """Mail a verification link that will create the church; an address with an account is told so."""
    existing = find_user_by_email(signup.email)
    if existing is not None:
        mail.send(existing.email, "signup_existing", church_id=existing.church_id, name=existing.display_name)
        return
    payload = {
        "church_name": signup.church_name.strip(),
        "timezone": signup.timezone,
        "name": signup.name.strip(),
        "password_hash": hash_password(signup.password),
    }
    token = tokens.issue(tokens.SIGNUP, signup.email, payload=payload)
    mail.send(
        signup.email,
        "signup_verify",
        name=payload["name"],
        church_name=payload["church_name"],
        hours=int(tokens.TTL[tokens.SIGNUP].total_seconds() // 3600),
        link=mail.absolute_url("accounts.verify_signup", token=token),
    )


class EmailTaken(Exception):
    """The address got an account between sign-up and verification."""


def verify_signup(token: str) -> User | None:
    """Spend the token and make the church (on a Starter trial) and its owner; None when the link is spent.

    Raises EmailTaken when the address has an account by now (the token stays unspent: the
    caller rolls back).
    """
    row = tokens.spend(tokens.SIGNUP, token)
    if row is None or not row.payload:
        return None
    if find_user_by_email(row.email) is not None:
        raise EmailTaken(row.email)
    data = row.payload
    church: Church = new_church(data["church_name"], data["timezone"])
    owner = User(
        church_id=church.id,
        email=row.email,
        name=data["name"],
        password_hash=data["password_hash"],
        role="owner",
        email_verified_at=datetime.now(UTC),
    )
    db.session.add(owner)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same address verified in parallel
        raise EmailTaken(row.email) from exc
    row.church_id, row.user_id = church.id, owner.id
    start_trial(church)
    audit.record("church.signed_up", target=church, detail={"name": church.name}, church_id=church.id, actor=owner)
    log.info("church signed up", extra={"church_id": church.id, "to": mask_email(row.email)})
    return owner
