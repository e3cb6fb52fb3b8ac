"""Daily series behind the dashboard's charts: counters per church-day, and each chart's geometry.

The church's days come from `daily_stats`; a leader's are computed from the raw rows of their
groups' members inside the window (see app.dashboard.services for why).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text

from app.dashboard.charts import bars_and_line
from app.dashboard.scope import Days, Scope, scope_for, start_of
from app.extensions import db
from app.models import User
from app.stats import COUNTERS, church_day

_GROUP_DAYS_SQL = """
WITH scope AS (SELECT DISTINCT member_id FROM group_members WHERE church_id = :c AND group_id = ANY(:g)),
ev AS (
    SELECT (v.at AT TIME ZONE :tz)::date AS day, v.sent, v.delivered, v.failed, 0 AS inbound, 0 AS opt_outs,
           0 AS opt_ins, v.segments
    FROM broadcast_recipients r JOIN scope s ON s.member_id = r.member_id,
         LATERAL (VALUES (r.sent_at, 1, 0, 0, coalesce(r.segments, 0)), (r.delivered_at, 0, 1, 0, 0),
                         (r.failed_at, 0, 0, 1, 0)) AS v(at, sent, delivered, failed, segments)
    WHERE r.church_id = :c AND v.at >= :since
    UNION ALL
    SELECT (m.created_at AT TIME ZONE :tz)::date, 0, 0, 0, 1, 0, 0, 0
    FROM conversations c JOIN scope s ON s.member_id = c.member_id
    JOIN conversation_messages m ON m.conversation_id = c.id
    WHERE c.church_id = :c AND m.direction = 'in' AND m.created_at >= :since
    UNION ALL
    SELECT (e.created_at AT TIME ZONE :tz)::date, 0, 0, 0, 0, (e.action = 'opt_out')::int,
           (e.action = 'opt_in')::int, 0
    FROM consent_events e JOIN scope s ON s.member_id = e.member_id
    WHERE e.church_id = :c AND e.created_at >= :since
)
SELECT day, sum(sent) AS sent, sum(delivered) AS delivered, sum(failed) AS failed, sum(inbound) AS inbound,
       sum(opt_outs) AS opt_outs, sum(opt_ins) AS opt_ins, sum(segments) AS segments
FROM ev GROUP BY day
"""


def day_counts(scope: Scope, since: date) -> Days:
    """Counters per church-day from `since` (inclusive) to today."""
    if scope.is_groups:
        if not scope.group_ids:
            return {}
        rows = db.session.execute(
            text(_GROUP_DAYS_SQL),
            {
                "c": scope.church_id,
                "g": list(scope.group_ids),
                "tz": scope.timezone,
                "since": start_of(since, scope.timezone),
            },
        ).mappings()
    else:
        rows = db.session.execute(
            text(f"SELECT day, {', '.join(COUNTERS)} FROM daily_stats WHERE church_id = :c AND day >= :since"),
            {"c": scope.church_id, "since": since},
        ).mappings()
    return {row["day"]: {k: int(row[k]) for k in COUNTERS} for row in rows}


def total(days: Days, counter: str, since: date) -> int:
    return sum(row[counter] for day, row in days.items() if day >= since)


def series(days: Days, counter: str, first: date, last: date) -> tuple[list[date], list[int]]:
    """One value per calendar day from `first` to `last`, zero where nothing happened."""
    span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return span, [days.get(d, {}).get(counter, 0) for d in span]


CHART_NAMES = ("sends", "replies", "optouts")
CHART_SPANS = (30, 90)
# Weekly opt-outs need more than four bars to show a trend.
DEFAULT_SPANS = {"sends": 30, "replies": 30, "optouts": 90}


def chart(user: User, name: str, span: int, now: datetime | None = None):
    """The geometry of one dashboard chart over the last `span` days."""
    scope = scope_for(user)
    today = church_day(scope.timezone, now or datetime.now(UTC))
    first = today - timedelta(days=span - 1)
    days = day_counts(scope, first)
    if name == "sends":
        span_days, sent = series(days, "sent", first, today)
        _, delivered = series(days, "delivered", first, today)
        return bars_and_line(
            "chart-sends",
            "Sends and deliveries per day",
            span_days,
            ("series-sent", "Sent", sent),
            ("series-delivered", "Delivered", delivered),
            paired=True,
            width=1100,
        )
    if name == "replies":
        span_days, inbound = series(days, "inbound", first, today)
        return bars_and_line(
            "chart-replies", "Replies per day", span_days, ("series-replies", "Replies", inbound), width=540
        )
    # Opt-outs per week: whole weeks ending today, each labelled with its first day.
    weeks = span // 7
    first = today - timedelta(days=7 * weeks - 1)
    starts = [first + timedelta(days=7 * i) for i in range(weeks)]
    values = [sum(total_in(days, "opt_outs", s, s + timedelta(days=6))) for s in starts]
    return bars_and_line(
        "chart-optouts", "Opt-outs per week", starts, ("series-optouts", "Opt-outs", values), unit="week", width=540
    )


def total_in(days: Days, counter: str, first: date, last: date) -> list[int]:
    return [row[counter] for day, row in days.items() if first <= day <= last]
