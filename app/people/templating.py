"""Jinja filters for people pages (named member_* so they never clash with another domain's).

The people blueprint registers them app-wide where it is created (app/people/__init__.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask_login import current_user

from app.people.phones import format_national, unknown_name


def church_country() -> str:
    """The signed-in church's country, in which numbers are shown (US when nobody is signed in)."""
    return current_user.church.country if current_user.is_authenticated else "US"


def member_phone(value: str | None) -> str:
    """+13125550142 → (312) 555-0142 for a church in North America."""
    return format_national(value, church_country()) if value else ""


def member_name(member) -> str:
    """A member's name, or "Unknown · (630) 555-0142" for someone who has only texted in."""
    name = f"{member.first_name or ''} {member.last_name or ''}".strip()
    return name or unknown_name(member.phone_e164, church_country())


def member_time(value: datetime | None, fmt: str = "%b %-d, %Y %-I:%M %p") -> str:
    """A stored UTC time in the signed-in church's timezone."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    tz = current_user.church.timezone if current_user.is_authenticated else "UTC"
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)
