"""A user's notification choices: read with their defaults, saved in one row per user."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import NotificationSetting, PushSubscription, User
from app.models.notifications import EMAIL_AFTER_DEFAULT


@dataclass(frozen=True)
class Preferences:
    """What a user wants: mail after this many minutes unread (None: no mail), text or not, push."""

    email_after_minutes: int | None = EMAIL_AFTER_DEFAULT
    include_text: bool = False
    push: bool = True


def preferences_of(user_id: int) -> Preferences:
    """The user's choices, or the defaults when they never saved any."""
    row = db.session.get(NotificationSetting, user_id)
    if row is None:
        return Preferences()
    return Preferences(row.email_after_minutes, row.include_text, row.push)


def save_preferences(user: User, prefs: Preferences) -> None:
    """Keep the user's choices (the caller commits)."""
    row = db.session.get(NotificationSetting, user.id)
    if row is None:
        row = NotificationSetting(user_id=user.id, church_id=user.church_id)
        db.session.add(row)
    row.email_after_minutes = prefs.email_after_minutes
    row.include_text = prefs.include_text
    row.push = prefs.push


def device_count(user_id: int) -> int:
    """How many browsers receive this user's push notifications."""
    return db.session.scalar(select(func.count()).where(PushSubscription.user_id == user_id)) or 0
