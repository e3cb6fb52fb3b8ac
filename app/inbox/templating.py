"""Jinja filters and tests the inbox templates use.

The inbox blueprint registers them app-wide where it is created (app/inbox/__init__.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import g
from flask_login import current_user

from app.delivery.errors import describe
from app.models import ConversationNote
from app.people.phones import format_national, unknown_name
from app.people.templating import church_country

STATUS_LABELS = {
    "received": "Received",
    "queued": "Queued",
    "sending": "Sending",
    "sent": "Sent",
    "delivered": "Delivered",
    "failed": "Failed",
    "unknown": "Status unknown",
}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic")


class Clock:
    """Formats times in the church's timezone; one per request, so a 50-row page does the set-up once."""

    def __init__(self, tz: str, now: datetime | None = None) -> None:
        self.tz = tz or "UTC"
        self.zone = ZoneInfo(self.tz)
        self.today = (now or datetime.now(UTC)).astimezone(self.zone).date()

    def short(self, value: datetime | None) -> str:
        """9:41 AM today, Mon this week, Nov 3 this year, Nov 3, 2025 before."""
        if value is None:
            return ""
        local = value.astimezone(self.zone)
        days = (self.today - local.date()).days
        if days == 0:
            return local.strftime("%-I:%M %p")
        if 0 < days < 7:
            return local.strftime("%a")
        if local.year == self.today.year:
            return local.strftime("%b %-d")
        return local.strftime("%b %-d, %Y")

    def stamp(self, value: datetime | None) -> str:
        """Full local date and time, for title attributes."""
        return value.astimezone(self.zone).strftime("%a %b %-d %Y, %-I:%M %p") if value else ""


def clock() -> Clock:
    """This request's Clock in the signed-in user's church timezone (made once: a page calls it per row)."""
    found = g.get("inbox_clock")
    if found is None:
        tz = current_user.church.timezone if current_user.is_authenticated else "UTC"
        found = g.inbox_clock = Clock(tz)
    return found


def inbox_time(value: datetime | None) -> str:
    """Short local time in the church's timezone."""
    return clock().short(value)


def inbox_stamp(value: datetime | None) -> str:
    """Full local date and time, for title attributes."""
    return clock().stamp(value)


def contact_name(row: Any) -> str:
    """A member's name, or their number for unknown contacts."""
    name = f"{row.first_name or ''} {row.last_name or ''}".strip()
    return name or unknown_name(row.phone_e164, church_country())


def phone(value: str | None) -> str:
    return format_national(value, church_country()) if value else ""


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.title())


def message_status_note(item: Any) -> str:
    """Why an outbound message ended as it did, in plain words ("" when there is nothing to add)."""
    if item.error_code == "carrier_confirmed":
        return "the carrier sent its opt-out confirmation"
    if item.status in ("failed", "unknown") and item.error_code:
        return describe(item.error_code)
    return ""


def is_note(item: Any) -> bool:
    return isinstance(item, ConversationNote)


def is_image(media: dict[str, Any]) -> bool:
    """Image attachments get a thumbnail; others a link."""
    content_type = str(media.get("content_type") or "")
    if content_type:
        return content_type.startswith("image/")
    return str(media.get("url") or "").lower().split("?")[0].endswith(IMAGE_SUFFIXES)
