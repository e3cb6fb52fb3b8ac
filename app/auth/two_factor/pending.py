"""Between the password and the second factor: who is half signed in, and how often they may guess.

After the password, the session holds only a short-lived marker (the user and session version,
the remember-me choice, where to go next): Flask-Login is not told, so nothing else opens. The
marker names the user's session version, so a sign-out everywhere or a password change in the
meantime voids it.
"""

from __future__ import annotations

import time

from flask import session

from app.auth.identity import load_user
from app.models import User
from app.security import login_throttle

KEY = "_second_factor"
LIFETIME = 300  # seconds to type the code after the password

# Guesses at one user's codes, from anywhere: a 6-digit code with three steps accepted is a 1 in
# 333,333 guess, so 5 per 15 minutes and 20 a day keep a year of guessing below a 3% chance.
CODE_LIMITS = (("burst", 5, 900), ("day", 20, 86400))


def begin(user: User, *, remember: bool, next_url: str) -> None:
    """Mark the (fresh) session as waiting for `user`'s second factor."""
    session[KEY] = {
        "user": user.id,
        "version": user.session_version,
        "remember": bool(remember),
        "next": next_url,
        "until": time.time() + LIFETIME,
    }


def waiting() -> tuple[User, dict] | None:
    """The user waiting for a second factor and their marker, or None (none, expired or void)."""
    marker = session.get(KEY)
    if not isinstance(marker, dict) or marker.get("until", 0) < time.time():
        return None
    user_id, version = marker.get("user"), marker.get("version")
    if not isinstance(user_id, int) or not isinstance(version, int):
        return None
    user = load_user(user_id)
    # The version voids the marker when the user signed out everywhere or changed password meanwhile.
    if user is None or user.session_version != version or not user.active or not user.two_factor_enabled:
        return None
    return user, marker


def charge_code_attempt(user: User) -> login_throttle.Attempt:
    """Count one code typed for `user` (before it is checked); refused once over the limits."""
    prefix = f"koinonia:second-factor:{user.id}"
    return login_throttle.charge_counters(
        [(f"{prefix}:{name}", allowed, window) for name, allowed, window in CODE_LIMITS]
    )
