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

from app import cache, retention
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
    cache.bump(("stats", church_id))


# Each counter recomputed from its raw rows, on the same day rule as church_day(): the
# timestamp's calendar day in the church's timezone. One statement per church.
_REBUILD_SQL = """
WITH tz AS (SELECT timezone FROM churches WHERE id = :church_id),
events AS (
    -- One pass over the recipients: each row yields its sent, delivered and failed moments.
    SELECT (v.at AT TIME ZONE tz.timezone)::date AS day, v.sent, v.delivered, v.failed,
           0 AS inbound, 0 AS opt_outs, 0 AS opt_ins, v.segments
    FROM broadcast_recipients r CROSS JOIN tz,
         LATERAL (VALUES (r.sent_at, 1, 0, 0, coalesce(r.segments, 0)), (r.delivered_at, 0, 1, 0, 0),
                         (r.failed_at, 0, 0, 1, 0)) AS v(at, sent, delivered, failed, segments)
    WHERE r.church_id = :church_id AND v.at IS NOT NULL
    UNION ALL
    SELECT (m.created_at AT TIME ZONE tz.timezone)::date, 0, 0, 0, 1, 0, 0, 0
    FROM conversation_messages m, tz WHERE m.church_id = :church_id AND m.direction = 'in'
    UNION ALL
    -- Replies the provider accepted (sent=1 when the call returns; segments are not stored per reply).
    -- The STOP confirmation the carrier answered itself has no provider id and was never counted.
    SELECT (m.created_at AT TIME ZONE tz.timezone)::date, 1, 0, 0, 0, 0, 0, 0
    FROM conversation_messages m, tz
    WHERE m.church_id = :church_id AND m.direction = 'out' AND m.provider_message_id IS NOT NULL
    UNION ALL
    -- Replies that failed (a reply is tried within seconds of being written, so on its day).
    -- The STOP confirmation the carrier answered itself is "sent", not failed (inbox.tasks).
    SELECT (m.created_at AT TIME ZONE tz.timezone)::date, 0, 0, 1, 0, 0, 0, 0
    FROM conversation_messages m, tz
    WHERE m.church_id = :church_id AND m.direction = 'out' AND m.status = 'failed'
    UNION ALL
    SELECT (e.created_at AT TIME ZONE tz.timezone)::date, 0, 0, 0, 0,
           (e.action = 'opt_out')::int, (e.action = 'opt_in')::int, 0
    FROM consent_events e, tz WHERE e.church_id = :church_id
)
INSERT INTO daily_stats (church_id, day, sent, delivered, failed, inbound, opt_outs, opt_ins, segments)
SELECT :church_id, day, sum(sent), sum(delivered), sum(failed), sum(inbound), sum(opt_outs), sum(opt_ins),
       sum(segments)
FROM events WHERE CAST(:floor AS date) IS NULL OR day >= :floor GROUP BY day
"""


def rebuild(church_id: int) -> int:
    """Recompute one church's daily_stats from the raw rows; returns the number of days written.

    The incremental counters are the fast path; this is the audit and the repair: run it
    after a bug fix or a restore, and the dashboard reads the same figures it would have
    had if every writer had bumped perfectly.
    """
    # Days older than a retention window may have lost their detail (app/retention.py): kept as counted.
    floor = retention.rebuild_floor()
    params = {"church_id": church_id, "floor": floor}
    db.session.execute(
        text(
            "DELETE FROM daily_stats WHERE church_id = :church_id AND (CAST(:floor AS date) IS NULL OR day >= :floor)"
        ),
        params,
    )
    result = db.session.execute(text(_REBUILD_SQL), params)
    db.session.execute(
        text(
            "INSERT INTO member_counts (church_id, opted_in, opted_out) "
            "SELECT :church_id, count(*) FILTER (WHERE opted_out_at IS NULL), "
            "count(*) FILTER (WHERE opted_out_at IS NOT NULL) FROM members WHERE church_id = :church_id "
            "ON CONFLICT (church_id) DO UPDATE SET opted_in = excluded.opted_in, opted_out = excluded.opted_out"
        ),
        {"church_id": church_id},
    )
    cache.bump(("stats", church_id), ("members", church_id))
    return result.rowcount or 0
