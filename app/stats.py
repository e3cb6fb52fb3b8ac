"""Pre-aggregated counters per church per day (`daily_stats`), what the dashboard reads.

Writers add to them in the same transaction as the change they count, one statement per
batch: `bump(church_id, day, sent=n, segments=s)` is an `INSERT … ON CONFLICT DO UPDATE SET
x = daily_stats.x + n`. The day is the calendar day in the church's timezone at the moment
of the event (`church_day(...)`), so `flask rebuild-stats` can recompute the same figures
from the raw rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text

from app.extensions import db

COUNTERS = ("sent", "delivered", "failed", "inbound", "opt_outs", "opt_ins", "segments")


def church_day(tz: str, at: datetime | None = None) -> date:
    """The calendar day of `at` (default now) in the timezone `tz`."""
    at = at or datetime.now(UTC)
    return at.astimezone(ZoneInfo(tz)).date()


def bump(church_id: int, day: date, **counts: int) -> None:
    """Add `counts` (any of COUNTERS) to one church-day; zero counts are ignored."""
    counts = {k: int(v) for k, v in counts.items() if v}
    unknown = set(counts) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown daily_stats counter(s): {', '.join(sorted(unknown))}")
    if not counts:
        return
    cols = ", ".join(counts)
    params = ", ".join(f":{k}" for k in counts)
    updates = ", ".join(f"{k} = daily_stats.{k} + excluded.{k}" for k in counts)
    db.session.execute(
        text(
            f"INSERT INTO daily_stats (church_id, day, {cols}) VALUES (:church_id, :day, {params}) "
            f"ON CONFLICT (church_id, day) DO UPDATE SET {updates}"
        ),
        {"church_id": church_id, "day": day, **counts},
    )
