"""The dashboard's figures: daily_stats and a few small indexed reads, never a count over recipients.

A church's owner and admins read the pre-aggregated `daily_stats` rows and `member_counts`.
A leader sees the same page for the members of the groups they lead; those figures are
computed from the raw rows of just those members inside the window (indexed on member_id,
bounded by the groups' size), because a per-group aggregate would need every writer to know
group membership at write time, and membership changes after the fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from app.billing import allowance
from app.extensions import db
from app.models import Church, User
from app.stats import COUNTERS, church_day

Days = dict[date, dict[str, int]]


@dataclass(frozen=True)
class Scope:
    """Whose figures: the whole church, or the members of some groups (a leader's)."""

    church_id: int
    timezone: str
    user_id: int
    group_ids: tuple[int, ...] | None = None

    @property
    def is_groups(self) -> bool:
        return self.group_ids is not None


def scope_for(user: User) -> Scope:
    """Leaders see their groups; owners and admins see the church."""
    church = user.church
    if user.role != "leader":
        return Scope(church.id, church.timezone, user.id)
    ids = db.session.scalars(
        text("SELECT group_id FROM group_leaders WHERE church_id = :c AND user_id = :u ORDER BY group_id"),
        {"c": church.id, "u": user.id},
    ).all()
    return Scope(church.id, church.timezone, user.id, tuple(ids))


def _start_of(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(), ZoneInfo(tz))


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
                "since": _start_of(since, scope.timezone),
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


def member_figures(scope: Scope, since: datetime) -> dict[str, int]:
    """Opted-in and opted-out members and how many joined since `since`.

    The church figures are two integers kept by triggers (member_counts); the group figures
    count the groups' members, which a leader's groups keep small.
    """
    params = {"c": scope.church_id, "since": since}
    if scope.is_groups:
        params["g"] = list(scope.group_ids or ())
        row = (
            db.session.execute(
                text(
                    "SELECT count(*) FILTER (WHERE m.opted_out_at IS NULL) AS opted_in, "
                    "count(*) FILTER (WHERE m.opted_out_at IS NOT NULL) AS opted_out, "
                    "count(*) FILTER (WHERE s.joined_at >= :since) AS joined FROM members m JOIN ("
                    "SELECT member_id, min(created_at) AS joined_at FROM group_members "
                    "WHERE church_id = :c AND group_id = ANY(:g) GROUP BY member_id) s ON s.member_id = m.id"
                ),
                params,
            )
            .mappings()
            .one()
        )
        return dict(row)
    counts = (
        db.session.execute(text("SELECT opted_in, opted_out FROM member_counts WHERE church_id = :c"), params)
        .mappings()
        .first()
    )
    joined = db.session.scalar(
        text("SELECT count(*) FROM members WHERE church_id = :c AND created_at >= :since"), params
    )
    return {
        "opted_in": int(counts["opted_in"]) if counts else 0,
        "opted_out": int(counts["opted_out"]) if counts else 0,
        "joined": int(joined or 0),
    }


def median_first_response(scope: Scope, since: datetime) -> tuple[float | None, int]:
    """Median seconds from a conversation's first inbound message to the first staff reply, and how many.

    percentile_cont over the conversations first answered since `since`, read index-only from
    ix_conversations_church_first_response (the conversation is created by its first inbound
    message, so created_at is when the member first wrote).
    """
    member_filter = ""
    params: dict = {"c": scope.church_id, "since": since}
    if scope.is_groups:
        member_filter = (
            "AND member_id IN (SELECT member_id FROM group_members WHERE church_id = :c AND group_id = ANY(:g))"
        )
        params["g"] = list(scope.group_ids or ())
    row = db.session.execute(
        text(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - created_at)) "
            "AS median, count(*) AS n FROM conversations WHERE church_id = :c AND first_response_at >= :since "
            f"AND last_inbound_at IS NOT NULL {member_filter}"
        ),
        params,
    ).one()
    return (max(float(row.median), 0.0) if row.median is not None else None), int(row.n)


_SCOPE_BROADCASTS = (
    "AND (b.created_by_id = :u OR EXISTS (SELECT 1 FROM group_members gm JOIN broadcast_recipients r "
    "ON r.member_id = gm.member_id AND r.broadcast_id = b.id WHERE gm.church_id = :c AND gm.group_id = ANY(:g)))"
)


def recent_broadcasts(scope: Scope, limit: int = 5) -> list[dict]:
    """The latest broadcasts that went out, with their counter columns for the delivery bars."""
    params: dict = {"c": scope.church_id, "u": scope.user_id, "n": limit}
    extra = ""
    if scope.is_groups:
        extra, params["g"] = _SCOPE_BROADCASTS, list(scope.group_ids or ())
    rows = db.session.execute(
        text(
            "SELECT b.id, b.body, b.status, b.created_at, b.started_at, b.recipient_count, b.sent_count, "
            "b.delivered_count, b.failed_count, b.skipped_count FROM broadcasts b "
            "WHERE b.church_id = :c AND b.status IN ('sending', 'paused', 'sent') "
            f"{extra} ORDER BY b.created_at DESC LIMIT :n"
        ),
        params,
    ).mappings()
    return [dict(row, bar=delivery_bar(row)) for row in rows]


def delivery_bar(row) -> dict[str, int]:
    """Whole-percent widths of the delivered / sent / failed / skipped / queued parts of a broadcast."""
    total_count = max(int(row["recipient_count"] or 0), 1)
    delivered, failed, skipped = (int(row[k] or 0) for k in ("delivered_count", "failed_count", "skipped_count"))
    sent = max(int(row["sent_count"] or 0) - delivered - failed, 0)
    parts = {"delivered": delivered, "sent": sent, "failed": failed, "skipped": skipped}
    widths = {k: min(100, round(100 * v / total_count)) for k, v in parts.items()}
    widths["queued"] = max(0, 100 - sum(widths.values()))
    widths["percent"] = min(100, round(100 * delivered / total_count))
    return widths


def next_scheduled(scope: Scope, now: datetime, limit: int = 4) -> list[dict]:
    """Scheduled broadcasts and recurring schedules, soonest first (two small partial-index reads)."""
    params: dict = {"c": scope.church_id, "u": scope.user_id, "n": limit, "now": now}
    mine = "AND created_by_id = :u" if scope.is_groups else ""
    rows = db.session.execute(
        text(
            f"(SELECT 'broadcast' AS kind, id, body, scheduled_at AS at FROM broadcasts "
            f"WHERE church_id = :c AND status = 'scheduled' {mine} ORDER BY scheduled_at LIMIT :n) "
            f"UNION ALL (SELECT 'schedule', id, body, next_run_at FROM schedules "
            f"WHERE church_id = :c AND enabled AND next_run_at >= :now {mine} ORDER BY next_run_at LIMIT :n) "
            "ORDER BY at NULLS LAST LIMIT :n"
        ),
        params,
    ).mappings()
    return [dict(row) for row in rows]


def failed_broadcasts(scope: Scope, since: datetime, limit: int = 3) -> list[dict]:
    """Recent broadcasts with failed recipients, for the "needs attention" card."""
    params: dict = {"c": scope.church_id, "u": scope.user_id, "n": limit, "since": since}
    extra = ""
    if scope.is_groups:
        extra, params["g"] = _SCOPE_BROADCASTS, list(scope.group_ids or ())
    rows = db.session.execute(
        text(
            "SELECT b.id, b.body, b.failed_count FROM broadcasts b WHERE b.church_id = :c AND b.created_at >= :since "
            f"AND b.failed_count > 0 {extra} ORDER BY b.created_at DESC LIMIT :n"
        ),
        params,
    ).mappings()
    return [dict(row) for row in rows]


def unread_conversations(scope: Scope) -> int:
    """Conversations with unread messages (the inbox's partial index on unread_count > 0 keeps this small)."""
    params: dict = {"c": scope.church_id}
    member_filter = ""
    if scope.is_groups:
        member_filter = (
            "AND member_id IN (SELECT member_id FROM group_members WHERE church_id = :c AND group_id = ANY(:g))"
        )
        params["g"] = list(scope.group_ids or ())
    return int(
        db.session.scalar(
            text(f"SELECT count(*) FROM conversations WHERE church_id = :c AND unread_count > 0 {member_filter}"),
            params,
        )
        or 0
    )


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


_CHURCH_FIGURES_SQL = f"""
SELECT
  (SELECT json_agg(json_build_object('day', day, {", ".join(f"'{c}', {c}" for c in COUNTERS)}))
     FROM daily_stats WHERE church_id = :c AND day >= :since_day) AS days,
  (SELECT opted_in FROM member_counts WHERE church_id = :c) AS opted_in,
  (SELECT opted_out FROM member_counts WHERE church_id = :c) AS opted_out,
  (SELECT count(*) FROM members WHERE church_id = :c AND created_at >= :since) AS joined,
  (SELECT count(*) FROM conversations WHERE church_id = :c AND unread_count > 0) AS unread,
  fr.median, fr.answered
FROM (
  SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - created_at)) AS median,
         count(*) AS answered
  FROM conversations WHERE church_id = :c AND first_response_at >= :since AND last_inbound_at IS NOT NULL
) fr
"""

_LIST_COLUMNS = "id, body, status, recipient_count, sent_count, delivered_count, failed_count, skipped_count"
_CHURCH_LISTS_SQL = f"""
(SELECT 'recent' AS kind, created_at AS at, {_LIST_COLUMNS} FROM broadcasts
  WHERE church_id = :c AND status IN ('sending', 'paused', 'sent') ORDER BY created_at DESC LIMIT 5)
UNION ALL
(SELECT 'failed', created_at, {_LIST_COLUMNS} FROM broadcasts
  WHERE church_id = :c AND created_at >= :since AND failed_count > 0 ORDER BY created_at DESC LIMIT 3)
UNION ALL
(SELECT 'broadcast', scheduled_at, {_LIST_COLUMNS} FROM broadcasts
  WHERE church_id = :c AND status = 'scheduled' ORDER BY scheduled_at LIMIT 4)
UNION ALL
(SELECT 'schedule', next_run_at, id, body, 'scheduled', 0, 0, 0, 0, 0 FROM schedules
  WHERE church_id = :c AND enabled AND next_run_at >= :now ORDER BY next_run_at LIMIT 4)
"""


def church_figures(scope: Scope, since_day: date, since: datetime, now: datetime) -> dict:
    """The whole church's figures in two statements: one for the numbers, one for the lists.

    Every part is an indexed read (daily_stats by its key, member_counts by church, the partial
    indexes on conversations, broadcasts and schedules); bundling them saves round trips, which
    is most of what a dashboard request costs.
    """
    params = {"c": scope.church_id, "since_day": since_day, "since": since, "now": now}
    row = db.session.execute(text(_CHURCH_FIGURES_SQL), params).mappings().one()
    days = {date.fromisoformat(d["day"]): {k: int(d[k]) for k in COUNTERS} for d in (row["days"] or [])}
    lists: dict[str, list[dict]] = {"recent": [], "failed": [], "broadcast": [], "schedule": []}
    for item in db.session.execute(text(_CHURCH_LISTS_SQL), params).mappings():
        lists[item["kind"]].append(dict(item))
    scheduled = sorted(lists["broadcast"] + lists["schedule"], key=lambda r: (r["at"] is None, r["at"] or now))
    return {
        "days": days,
        "members": {
            "opted_in": int(row["opted_in"] or 0),
            "opted_out": int(row["opted_out"] or 0),
            "joined": int(row["joined"]),
        },
        "unread": int(row["unread"]),
        "median": max(float(row["median"]), 0.0) if row["median"] is not None else None,
        "answered": int(row["answered"]),
        "recent": [dict(r, bar=delivery_bar(r)) for r in lists["recent"]],
        "failed_broadcasts": lists["failed"],
        "scheduled": scheduled[:4],
    }


def group_figures(scope: Scope, since_day: date, since: datetime, now: datetime) -> dict:
    """A leader's figures: the same shape as church_figures, from their groups' members' rows."""
    median, answered = median_first_response(scope, since)
    return {
        "days": day_counts(scope, since_day),
        "members": member_figures(scope, since),
        "unread": unread_conversations(scope),
        "median": median,
        "answered": answered,
        "recent": recent_broadcasts(scope),
        "failed_broadcasts": failed_broadcasts(scope, since),
        "scheduled": next_scheduled(scope, now),
    }


# Per-process micro-cache of the cards: a dashboard tolerates a few seconds of staleness, and
# reloads by many staff of one church then cost no database round trip. Off under TESTING.
_CACHE: dict[tuple, tuple[float, dict]] = {}


def cached_overview(user: User) -> dict:
    """overview(user), reused for DASHBOARD_CACHE_SECONDS (default 5; 0 when testing) per scope."""
    import time as _time

    from flask import current_app

    ttl = current_app.config.get("DASHBOARD_CACHE_SECONDS", 0 if current_app.testing else 5)
    if not ttl:
        return overview(user)
    key = (user.church_id, user.id if user.role == "leader" else None)
    hit = _CACHE.get(key)
    now = _time.monotonic()
    if hit and now - hit[0] < ttl:
        return hit[1]
    if len(_CACHE) > 10_000:
        _CACHE.clear()
    data = overview(user)
    _CACHE[key] = (now, data)
    return data


def overview(user: User, now: datetime | None = None) -> dict:
    """Everything the dashboard's cards show, for this user's scope."""
    now = now or datetime.now(UTC)
    scope = scope_for(user)
    church: Church = user.church
    today = church_day(scope.timezone, now)
    week, month30, month_start = today - timedelta(days=6), today - timedelta(days=29), today.replace(day=1)
    since30 = now - timedelta(days=30)
    figures = (group_figures if scope.is_groups else church_figures)(scope, min(month30, month_start), since30, now)
    days, members = figures["days"], figures["members"]
    usage = allowance.check_for_page(church)
    if scope.is_groups:
        usage = allowance.Allowance(allowance=usage.allowance, used=total(days, "segments", month_start))
    sent7, sent30 = total(days, "sent", week), total(days, "sent", month30)
    return {
        "scope": scope,
        "members": {**members, "change": members["joined"] - total(days, "opt_outs", month30)},
        "usage": usage,
        "delivery_7": percent(total(days, "delivered", week), sent7),
        "delivery_30": percent(total(days, "delivered", month30), sent30),
        "sent_7": sent7,
        "sent_30": sent30,
        "replies_30": total(days, "inbound", month30),
        "replies_7": total(days, "inbound", week),
        "median_response": figures["median"],
        "answered": figures["answered"],
        "opt_outs_month": total(days, "opt_outs", month_start),
        "failed_7": total(days, "failed", week),
        "unread": figures["unread"],
        "failed_broadcasts": figures["failed_broadcasts"],
        "scheduled": figures["scheduled"],
        "recent": figures["recent"],
    }


def humanize_seconds(seconds: float | None) -> str:
    """'4 min', '1 h 20 min', '2 d 3 h' — a response time people read at a glance."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    d, hours = divmod(hours, 24)
    return f"{d} d {hours} h" if hours else f"{d} d"


CHART_NAMES = ("sends", "replies", "optouts")
CHART_SPANS = (30, 90)
# Weekly opt-outs need more than four bars to show a trend.
DEFAULT_SPANS = {"sends": 30, "replies": 30, "optouts": 90}


def chart(user: User, name: str, span: int, now: datetime | None = None):
    """The geometry of one dashboard chart over the last `span` days."""
    from app.dashboard.charts import bars_and_line

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
