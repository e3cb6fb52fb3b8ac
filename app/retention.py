"""Retention of per-message detail: broadcast recipients and inbox messages past a set age.

Why delete past a retention setting rather than partition these two tables by month (as
webhook_events is by day, app/partitions.py): both carry a globally unique provider_message_id,
which every status webhook looks up. A partitioned table's unique keys must hold the partition
key, so that id could no longer be unique by itself, and each lookup without the month would
probe one index per partition: the hot path of delivery, several times per text sent, would pay
for every month kept: bench/retention_choice.py measured 3.2x the plain table's p50 and 6.3x its p95
over 24 months (500,000 rows, load average 15.7 on 2 cores). broadcast_recipients is also
reached by (broadcast_id, member_id) and conversation_messages by conversation and time, neither
of which is the partition key a monthly drop would need. Detail past its age is therefore
deleted in bounded batches, each its own short transaction, from the oldest first.

What stays: a broadcast keeps its counts (recipient_count, sent_count, … on the broadcast row)
and is marked `recipients_pruned_at`; the dashboard reads daily_stats, which never held rows
per message; `flask rebuild-stats` recomputes only the days whose detail is all still kept
(rebuild_floor). A conversation keeps its preview and time of last message.

Defaults: recipients of broadcasts finished more than 400 days ago (BROADCAST_RECIPIENTS_RETENTION_DAYS),
inbox messages never (CONVERSATION_MESSAGES_RETENTION_DAYS=0): a church's pastoral
conversations are its own record, so deleting them is the operator's explicit choice.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import text

from app import cache
from app.extensions import db

log = logging.getLogger(__name__)

BATCH = 5000  # rows per DELETE: a short transaction, a few MB of WAL
BROADCASTS_PER_PASS = 50
TIME_BUDGET_SECONDS = 60.0  # per run; the next run carries on where this one stopped


def _days(setting: str) -> int:
    return int(current_app.config.get(setting, 0) or 0)


def _cutoff(setting: str, now: datetime | None) -> datetime | None:
    """The time before which detail goes, or None when the setting keeps everything."""
    days = _days(setting)
    return (now or datetime.now(UTC)) - timedelta(days=days) if days else None


def _report(what: str, rows: int, setting: str) -> None:
    if rows:
        log.info(f"{what} past retention deleted", extra={"rows": rows, "retention_days": _days(setting)})


def rebuild_floor(today: date | None = None) -> date | None:
    """The first day whose detail every retention setting still keeps (None: all of it is kept)."""
    kept = [
        d for d in (_days("BROADCAST_RECIPIENTS_RETENTION_DAYS"), _days("CONVERSATION_MESSAGES_RETENTION_DAYS")) if d
    ]
    if not kept:
        return None
    # A day older than the shortest window may have lost rows; a day's margin for time zones.
    return (today or datetime.now(UTC).date()) - timedelta(days=min(kept) - 1)


def prune_broadcast_recipients(now: datetime | None = None, budget: float = TIME_BUDGET_SECONDS) -> int:
    """Delete the recipients of broadcasts finished before the retention window; rows deleted."""
    cutoff = _cutoff("BROADCAST_RECIPIENTS_RETENTION_DAYS", now)
    if cutoff is None:
        return 0
    started, deleted = time.monotonic(), 0
    while time.monotonic() - started < budget:
        due = db.session.execute(
            text(
                "SELECT id, church_id FROM broadcasts "
                "WHERE recipients_pruned_at IS NULL AND completed_at IS NOT NULL AND completed_at < :cutoff "
                "ORDER BY completed_at LIMIT :n"
            ),
            {"cutoff": cutoff, "n": BROADCASTS_PER_PASS},
        ).all()
        if not due:
            break
        ids = [row.id for row in due]
        while time.monotonic() - started < budget:
            gone = db.session.execute(
                text(
                    "DELETE FROM broadcast_recipients WHERE id IN "
                    "(SELECT id FROM broadcast_recipients WHERE broadcast_id = ANY(:ids) LIMIT :n)"
                ),
                {"ids": ids, "n": BATCH},
            ).rowcount
            deleted += gone
            db.session.commit()
            if gone < BATCH:
                break
        else:
            break  # out of time with rows left: these broadcasts are finished next run
        db.session.execute(
            text("UPDATE broadcasts SET recipients_pruned_at = now() WHERE id = ANY(:ids)"), {"ids": ids}
        )
        cache.bump(*{("broadcasts", row.church_id) for row in due})
        db.session.commit()
    _report("broadcast recipients", deleted, "BROADCAST_RECIPIENTS_RETENTION_DAYS")
    return deleted


def prune_conversation_messages(now: datetime | None = None, budget: float = TIME_BUDGET_SECONDS) -> int:
    """Delete inbox messages older than the retention window, oldest first; rows deleted."""
    cutoff = _cutoff("CONVERSATION_MESSAGES_RETENTION_DAYS", now)
    if cutoff is None:
        return 0
    started, deleted = time.monotonic(), 0
    while time.monotonic() - started < budget:
        rows = db.session.execute(
            text(
                "DELETE FROM conversation_messages WHERE id IN "
                "(SELECT id FROM conversation_messages WHERE created_at < :cutoff "
                " AND status NOT IN ('queued', 'sending') ORDER BY created_at LIMIT :n) "
                "RETURNING church_id, conversation_id"
            ),
            {"cutoff": cutoff, "n": BATCH},
        ).all()
        cache.bump(*{("conversation", church, conversation) for church, conversation in rows})
        db.session.commit()
        deleted += len(rows)
        if len(rows) < BATCH:
            break
    _report("inbox messages", deleted, "CONVERSATION_MESSAGES_RETENTION_DAYS")
    return deleted


def prune() -> dict[str, int]:
    """The periodic entry point (app/periodic.py): both tables, each within its time budget."""
    return {
        "broadcast_recipients": prune_broadcast_recipients(),
        "conversation_messages": prune_conversation_messages(),
    }
