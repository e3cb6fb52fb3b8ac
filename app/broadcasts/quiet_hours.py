"""Quiet hours: when a church's local wall-clock time holds broadcasts back (pure, no database).

The batch job defers to `quiet_until`, the detail page shows it, settings recomputes it when the
hours change, and the composer warns with `in_quiet_hours`; none of them needs the others' module.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from app.models import Church


def quiet_until(church: Church, now: datetime | None = None) -> datetime | None:
    """When the church's quiet hours end, if `now` is inside them (None otherwise)."""
    start, end = church.quiet_hours_start, church.quiet_hours_end
    if start is None or end is None or start == end:
        return None
    zone = ZoneInfo(church.timezone or "UTC")
    local = (now or datetime.now(UTC)).astimezone(zone)
    t = local.time().replace(tzinfo=None)
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)


def in_quiet_hours(church, at: datetime) -> bool:
    """True when `at` falls inside the church's quiet hours (its local wall-clock time)."""
    start, end = church.quiet_hours_start, church.quiet_hours_end
    if start is None or end is None or start == end:
        return False
    local = at.astimezone(ZoneInfo(church.timezone)).time()
    return start <= local or local < end if start > end else start <= local < end
