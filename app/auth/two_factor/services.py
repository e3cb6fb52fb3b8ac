"""Turning two-factor on and off, and checking a second factor at sign-in.

`users.two_factor_enabled` says whether a user has a confirmed authenticator app or a passkey;
every change here ends with `refresh_enabled` so it never disagrees with the rows behind it.
Recovery codes exist while two-factor is on: issued when the first factor is added, deleted with
the last one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, exists, select, update

from app import audit
from app.auth.two_factor import recovery, totp
from app.extensions import db
from app.models import Church, Passkey, RecoveryCode, TotpSecret, User
from app.security.sealing import open_sealed, seal

SEAL_PURPOSE = "totp-secret"


def totp_row(user: User) -> TotpSecret | None:
    return db.session.get(TotpSecret, user.id)


def has_totp(user: User) -> bool:
    row = totp_row(user)
    return row is not None and row.confirmed_at is not None


def passkeys(user: User) -> list[Passkey]:
    """The user's passkeys, oldest first."""
    return list(db.session.scalars(select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.id)))


def unused_recovery_codes(user: User) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        ).all()
    )


def start_totp_setup(user: User) -> str:
    """A new secret for the user's authenticator app, kept unconfirmed until a code proves it was saved.

    Asking again replaces an unconfirmed secret; a confirmed one stays until the app is turned off.
    """
    row = totp_row(user)
    if row is not None and row.confirmed_at is not None:
        raise ValueError("an authenticator app is already on")
    secret = totp.new_secret()
    if row is None:
        row = TotpSecret(user_id=user.id, church_id=user.church_id, secret_encrypted=seal(secret, SEAL_PURPOSE))
        db.session.add(row)
    else:
        row.secret_encrypted = seal(secret, SEAL_PURPOSE)
        row.last_used_step = None
    db.session.flush()
    return secret


def pending_totp_secret(user: User) -> str | None:
    """The secret of a set-up not yet confirmed, or None."""
    row = totp_row(user)
    if row is None or row.confirmed_at is not None:
        return None
    return open_sealed(row.secret_encrypted, SEAL_PURPOSE)


def confirm_totp(user: User, code: str, *, now: float | None = None) -> list[str] | None:
    """Turn the app on if `code` is right; answer fresh recovery codes when two-factor just came on
    (an empty list when it already was), or None for a wrong code."""
    row = totp_row(user)
    secret = pending_totp_secret(user)
    if row is None or secret is None:
        return None
    step = totp.matching_step(secret, code, now=now)
    if step is None:
        return None
    row.confirmed_at = datetime.now(UTC)
    row.last_used_step = step  # the code that confirmed it cannot also sign someone in
    audit.record("auth.two_factor_changed", target=user, detail={"app": "on"}, actor=user)
    return _factor_added(user)


def disable_totp(user: User) -> None:
    """Turn the authenticator app off (and two-factor with it when no passkey remains)."""
    db.session.execute(delete(TotpSecret).where(TotpSecret.user_id == user.id))
    audit.record("auth.two_factor_changed", target=user, detail={"app": "off"}, actor=user)
    _factor_removed(user)


def check_totp(user: User, code: str, *, now: float | None = None) -> bool:
    """Whether `code` is a current app code not used before; using it makes it spent.

    The step is moved with one conditional UPDATE, so two requests racing with the same code
    cannot both pass.
    """
    row = totp_row(user)
    if row is None or row.confirmed_at is None:
        return False
    secret = open_sealed(row.secret_encrypted, SEAL_PURPOSE)
    if secret is None:
        return False
    step = totp.matching_step(secret, code, now=now, after=row.last_used_step)
    if step is None:
        return False
    moved = db.session.execute(
        update(TotpSecret)
        .where(TotpSecret.user_id == user.id)
        .where((TotpSecret.last_used_step.is_(None)) | (TotpSecret.last_used_step < step))
        .values(last_used_step=step)
        .returning(TotpSecret.user_id)
        .execution_options(synchronize_session=False)
    ).first()
    db.session.expire(row)
    return moved is not None


def issue_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with ten new ones; answer them (the only time they are seen)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = recovery.generate()
    db.session.add_all(
        RecoveryCode(church_id=user.church_id, user_id=user.id, code_hash=recovery.hash_code(c)) for c in codes
    )
    db.session.flush()
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """Whether `code` is one of the user's unused recovery codes; using it spends it (atomically)."""
    if not recovery.looks_like_code(code):
        return False
    spent = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == recovery.hash_code(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=datetime.now(UTC))
        .returning(RecoveryCode.id)
        .execution_options(synchronize_session=False)
    ).first()
    return spent is not None


def check_code(user: User, code: str, *, now: float | None = None) -> str | None:
    """Which kind of second factor `code` is for this user ("app" or "recovery"), or None if neither."""
    if recovery.looks_like_code(code):
        return "recovery" if use_recovery_code(user, code) else None
    return "app" if check_totp(user, code, now=now) else None


def _factor_added(user: User) -> list[str]:
    was_on = user.two_factor_enabled
    refresh_enabled(user)
    return issue_recovery_codes(user) if not was_on else []


def _factor_removed(user: User) -> None:
    refresh_enabled(user)
    if not user.two_factor_enabled:
        db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def refresh_enabled(user: User) -> None:
    """Set users.two_factor_enabled from the factors the user has."""
    db.session.flush()
    app_on = exists().where(TotpSecret.user_id == user.id, TotpSecret.confirmed_at.is_not(None))
    passkey_on = exists().where(Passkey.user_id == user.id)
    enabled = bool(db.session.scalar(select(app_on | passkey_on)))
    if user.two_factor_enabled != enabled:
        user.two_factor_enabled = enabled


def passkey_added(user: User) -> list[str]:
    """After a passkey is stored: recovery codes when two-factor just came on, else []."""
    audit.record("auth.two_factor_changed", target=user, detail={"passkey": "added"}, actor=user)
    return _factor_added(user)


def remove_passkey(user: User, passkey: Passkey) -> None:
    db.session.delete(passkey)
    audit.record(
        "auth.two_factor_changed", target=user, detail={"passkey": "removed", "name": passkey.name}, actor=user
    )
    _factor_removed(user)


def is_last_factor(user: User, *, passkey: Passkey | None = None, app: bool = False) -> bool:
    """Whether removing this passkey (or the app) would leave the user without two-factor."""
    others = len(passkeys(user)) - (1 if passkey is not None else 0)
    return others <= 0 and (app or not has_totp(user))


def set_church_requirement(church: Church, required: bool) -> None:
    church.require_two_factor = required
    audit.record("settings.changed", target=church, detail={"require_two_factor": required})


def must_set_up(user: User) -> bool:
    """Whether the user's church requires two-factor and the user has none yet."""
    return user.church.require_two_factor and not user.two_factor_enabled
