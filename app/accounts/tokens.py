"""One-time tokens for links sent by mail (password reset, sign-up verification, staff invitation).

The link carries a random token (32 bytes, URL-safe); the table keeps only its sha256, so a
copy of the database opens no account. A token is spent by a single UPDATE … WHERE used_at IS
NULL AND expires_at > now() RETURNING, so two clicks (or two tabs) never both use it. Lookups go
by the hash through a unique index and the row's hash is compared again in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, text, update

from app.extensions import db
from app.models import AccountToken, User

PASSWORD_RESET = "password_reset"
SIGNUP = "signup_verify"
INVITATION = "staff_invitation"
TTL = {PASSWORD_RESET: timedelta(hours=1), SIGNUP: timedelta(hours=48), INVITATION: timedelta(days=7)}
MAX_TOKEN = 100  # longer path segments are not ours: refused before hashing


def digest(token: str) -> bytes:
    """What the table stores for `token`."""
    return hashlib.sha256(token.encode()).digest()


def issue(
    purpose: str,
    email: str,
    *,
    user: User | None = None,
    church_id: int | None = None,
    payload: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> str:
    """Store a new token for `purpose` (flushed, not committed) and return the raw token for the link.

    `church_id` names the church of a token that has no user yet (an invitation).
    """
    token = secrets.token_urlsafe(32)
    now = now or datetime.now(UTC)
    db.session.add(
        AccountToken(
            purpose=purpose,
            token_hash=digest(token),
            user_id=user.id if user else None,
            church_id=user.church_id if user else church_id,
            email=email.strip().lower(),
            payload=payload,
            expires_at=now + TTL[purpose],
        )
    )
    db.session.flush()
    return token


def _usable(token: str) -> bool:
    return 0 < len(token) <= MAX_TOKEN and token.isascii()


def peek(purpose: str, token: str) -> AccountToken | None:
    """The token's row while it is unused and unexpired (spends nothing): whether to show a form."""
    if not _usable(token):
        return None
    hashed = digest(token)
    row = db.session.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == hashed,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > text("now()"),
        )
    )
    if row is None or not hmac.compare_digest(row.token_hash, hashed):
        return None
    return row


def spend(purpose: str, token: str) -> AccountToken | None:
    """Use the token once: its row, or None when it is unknown, used or expired (in the caller's transaction)."""
    if not _usable(token):
        return None
    hashed = digest(token)
    token_id = db.session.scalar(
        update(AccountToken)
        .where(
            AccountToken.token_hash == hashed,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > text("now()"),
        )
        .values(used_at=text("now()"))
        .returning(AccountToken.id)
    )
    if token_id is None:
        return None
    row = db.session.get(AccountToken, token_id, populate_existing=True)
    if row is None or not hmac.compare_digest(row.token_hash, hashed):
        return None
    return row


def spend_all(purpose: str, user_id: int) -> None:
    """Spend every outstanding token of `purpose` for a user (a reset link older than the new password)."""
    db.session.execute(
        update(AccountToken)
        .where(AccountToken.purpose == purpose, AccountToken.user_id == user_id, AccountToken.used_at.is_(None))
        .values(used_at=text("now()"))
    )


def purge_expired(days: int) -> int:
    """Delete tokens that expired more than `days` ago, used or not; returns how many."""
    cutoff = text("now() - make_interval(days => :days)").bindparams(bindparam("days", days))
    return db.session.execute(delete(AccountToken).where(AccountToken.expires_at < cutoff)).rowcount
