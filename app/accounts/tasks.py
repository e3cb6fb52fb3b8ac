"""Account jobs run by the workers."""

from __future__ import annotations

from app.accounts import tokens
from app.extensions import db

KEEP_DAYS = 7


def purge_old_tokens() -> int:
    """Periodic: forget tokens expired a week ago (a sign-up's keeps a password hash until then)."""
    removed = tokens.purge_expired(KEEP_DAYS)
    db.session.commit()
    return removed
