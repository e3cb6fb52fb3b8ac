"""Provider webhooks kept by day: one partition of webhook_events per day, dropped whole.

webhook_events grows with every status callback (several per text sent). It is partitioned by
range on `occurred_at`, the provider's own time of the event, not the time we received it: a
redelivery repeats the event's time, so the unique key (provider, event_id, occurred_at) that a
partitioned table needs (it must hold the partition key) still stores each event once, even when
the retry comes in after midnight.

maintain() runs from the periodic jobs: it keeps a partition for each of the next AHEAD_DAYS days
and drops the partitions older than WEBHOOK_EVENTS_RETENTION_DAYS (a DROP TABLE: no row-by-row
DELETE, no bloat, no vacuum). An event whose time falls outside every daily partition (a clock far
off, a replay of an old event) lands in webhook_events_default; if that default already holds rows
for a day when its partition is created (the scheduler was down for more than AHEAD_DAYS days),
those rows move into the new partition. A partition still holding an unprocessed event is kept,
whatever its age, and logged.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import text

from app.extensions import db

log = logging.getLogger(__name__)

PARENT = "webhook_events"
DEFAULT = "webhook_events_default"
AHEAD_DAYS = 7
PREFIX = "webhook_events_p"


def event_time(value: Any) -> datetime:
    """The provider's time of an event: an ISO 8601 string (Telnyx) or Unix seconds (Stripe).

    Anything else (absent, malformed, out of range) is "now": such an event is then stored once
    per time it arrives at worst, which the handlers tolerate (every one is idempotent).
    """
    try:
        if isinstance(value, bool):
            raise TypeError
        if isinstance(value, int | float):
            found = datetime.fromtimestamp(value, UTC)
        elif isinstance(value, str) and len(value) <= 64:
            found = datetime.fromisoformat(value)
            if found.tzinfo is None:
                found = found.replace(tzinfo=UTC)
        else:
            raise TypeError
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)
    return found


def partition_name(day: date) -> str:
    return f"{PREFIX}{day:%Y%m%d}"


def partitions() -> dict[date, str]:
    """The daily partitions that exist, by day."""
    names = db.session.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:parent AS regclass)"
        ),
        {"parent": PARENT},
    )
    found = {}
    for name in names:
        if name.startswith(PREFIX):
            found[datetime.strptime(name.removeprefix(PREFIX), "%Y%m%d").date()] = name
    return found


def _bounds(day: date) -> dict[str, datetime]:
    start = datetime.combine(day, time(), UTC)
    return {"lo": start, "hi": start + timedelta(days=1)}


def create_partition(day: date) -> None:
    """The partition for `day`, taking over any of its rows that wait in the default partition."""
    name, bounds = partition_name(day), _bounds(day)
    lo, hi = (f"'{bounds[k].isoformat()}'" for k in ("lo", "hi"))  # dates we formatted, not input
    stranded = db.session.scalar(
        text(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE occurred_at >= :lo AND occurred_at < :hi)"), bounds
    )
    if not stranded:
        db.session.execute(
            text(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {PARENT} FOR VALUES FROM ({lo}) TO ({hi})")
        )
        return
    # PostgreSQL refuses a partition whose rows the default holds: detach it, move them, attach back.
    db.session.execute(text(f"ALTER TABLE {PARENT} DETACH PARTITION {DEFAULT}"))
    db.session.execute(text(f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES FROM ({lo}) TO ({hi})"))
    moved = db.session.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE occurred_at >= :lo AND occurred_at < :hi RETURNING *) "
            f"INSERT INTO {PARENT} SELECT * FROM moved"
        ),
        bounds,
    ).rowcount
    db.session.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {DEFAULT} DEFAULT"))
    log.info("webhook events moved out of the default partition", extra={"partition": name, "rows_moved": moved})


def maintain(today: date | None = None) -> dict[str, list[str]]:
    """Create the coming days' partitions and drop the expired ones; what was created and dropped."""
    today = today or datetime.now(UTC).date()
    keep_days = current_app.config.get("WEBHOOK_EVENTS_RETENTION_DAYS", 30)
    cutoff = today - timedelta(days=keep_days)
    # One maintainer at a time (a transaction-level lock: safe behind a transaction-mode pooler).
    db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('koinonia:webhook_events:partitions'))"))
    existing = partitions()
    created, dropped, kept = [], [], []
    for offset in range(AHEAD_DAYS + 1):
        day = today + timedelta(days=offset)
        if day not in existing:
            create_partition(day)
            created.append(partition_name(day))
    for day, name in sorted(existing.items()):
        if day >= cutoff:
            continue
        if db.session.scalar(text(f"SELECT EXISTS (SELECT 1 FROM {name} WHERE processed_at IS NULL)")):
            kept.append(name)
            continue
        db.session.execute(text(f"DROP TABLE {name}"))
        dropped.append(name)
    expired = db.session.execute(
        text(f"DELETE FROM {DEFAULT} WHERE occurred_at < :cutoff AND processed_at IS NOT NULL"),
        {"cutoff": _bounds(cutoff)["lo"]},
    ).rowcount
    db.session.commit()
    if kept:
        log.warning("expired webhook partitions kept: they hold unprocessed events", extra={"partitions_kept": kept})
    if created or dropped or expired:
        log.info(
            "webhook partitions maintained",
            extra={"partitions_created": created, "partitions_dropped": dropped, "default_rows_deleted": expired},
        )
    return {"created": created, "dropped": dropped, "kept": kept}
