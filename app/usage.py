"""Segments each church used per billing period (`usage_periods`), what allowance checks read.

A leaf beside app.stats: the delivery engine and the inbox record what the provider accepted
in the same transaction as the send result, without importing the billing domain, and
billing reads the totals back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select, text

from app import cache
from app.extensions import db
from app.models import UsagePeriod


def period_bounds(today: date | None = None) -> tuple[date, date]:
    """The billing period containing `today`: the calendar month (UTC), end exclusive."""
    today = today or datetime.now(UTC).date()
    start = today.replace(day=1)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def segments_used(church_id: int, today: date | None = None) -> int:
    """Segments the church used in the billing period containing `today`."""
    start, _ = period_bounds(today)
    used = db.session.scalar(
        select(UsagePeriod.segments_used).where(UsagePeriod.church_id == church_id, UsagePeriod.period_start == start)
    )
    return used or 0


def record_usage(church_id: int, segments: int, today: date | None = None) -> None:
    """Add segments accepted by the provider to this period's usage (one upsert)."""
    if segments <= 0:
        return
    start, end = period_bounds(today)
    db.session.execute(
        text(
            "INSERT INTO usage_periods (church_id, period_start, period_end, segments_used) "
            "VALUES (:church_id, :start, :end, :n) "
            "ON CONFLICT (church_id, period_start) DO UPDATE "
            "SET segments_used = usage_periods.segments_used + excluded.segments_used"
        ),
        {"church_id": church_id, "start": start, "end": end, "n": segments},
    )
    cache.bump(("billing", church_id))
