"""The dashboard's card figures: members, response times, unread, and the broadcast lists.

church_figures bundles the whole church's figures into two indexed statements; group_figures
gives a leader the same shape from their groups' members' rows.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import text

from app.dashboard.scope import Scope
from app.dashboard.series import day_counts
from app.extensions import db
from app.stats import COUNTERS


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
            "SELECT b.id, b.title, b.body, b.status, b.created_at, b.started_at, b.recipient_count, b.sent_count, "
            "b.delivered_count, b.failed_count, b.skipped_count FROM broadcasts b "
            "WHERE b.church_id = :c AND b.status IN ('sending', 'paused', 'sent') "
            f"{extra} ORDER BY b.created_at DESC LIMIT :n"
        ),
        params,
    ).mappings()
    return [dict(row, bar=delivery_bar(row)) for row in rows]


def delivery_bar(row) -> dict[str, int]:
    """Whole-percent widths of the delivered / sent / failed / skipped / queued parts of a broadcast.

    Each counter holds the recipients currently in its status (app.delivery.transitions), so
    "sent" is those accepted and not yet confirmed, never a total to subtract from.
    """
    total_count = max(int(row["recipient_count"] or 0), 1)
    delivered, failed, skipped = (int(row[k] or 0) for k in ("delivered_count", "failed_count", "skipped_count"))
    sent = int(row["sent_count"] or 0)
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
            f"(SELECT 'broadcast' AS kind, id, title, body, scheduled_at AS at FROM broadcasts "
            f"WHERE church_id = :c AND status = 'scheduled' {mine} ORDER BY scheduled_at LIMIT :n) "
            f"UNION ALL (SELECT 'schedule', id, NULL, body, next_run_at FROM schedules "
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
            "SELECT b.id, b.title, b.body, b.failed_count FROM broadcasts b "
            "WHERE b.church_id = :c AND b.created_at >= :since "
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

_LIST_COLUMNS = "id, title, body, status, recipient_count, sent_count, delivered_count, failed_count, skipped_count"
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
(SELECT 'schedule', next_run_at, id, NULL, body, 'scheduled', 0, 0, 0, 0, 0 FROM schedules
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
