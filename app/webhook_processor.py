"""The webhook processor: stored Telnyx events drained in batches, dispatched by event type.

The webhook endpoint (app.api.telnyx_routes) only stores each event once and nudges; this
module does the work, and is the one place that does. `drain()` takes pending rows with
`FOR UPDATE SKIP LOCKED` (so several workers share the backlog without blocking each other),
applies status events set-based, hands every other type to `HANDLERS[event_type](payload,
event)` where `payload` is the message object (`data.payload` of the envelope) and `event`
the stored WebhookEvent row, then marks the rows processed in the same transaction. A crash
at any point leaves rows pending for the next drain; nothing is lost and nothing is applied
twice.

HANDLERS is a static table: the processor imports the handlers, handlers never import the
processor. A handler that cannot act yet raises app.errors.RetryLater; any other exception
is recorded on the row and retried with backoff, and parked (processed, with its error,
plus a dead letter) after MAX_ATTEMPTS. RQ runs drain() and sweep() by their dotted paths
("app.webhook_processor.drain"), so renaming them strands queued jobs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, text

from app.dead_letters import add_dead_letter
from app.delivery import statuses
from app.errors import RetryLater
from app.extensions import db, rds
from app.inbox import inbound
from app.models import WebhookEvent

log = logging.getLogger(__name__)

PROVIDER = "telnyx"
BATCH_SIZE = 500
# Tries before an event is parked: 2**attempts seconds apart, about 8 minutes in all.
MAX_ATTEMPTS = 9
NUDGE_KEY = "koinonia:webhooks:telnyx:nudge"
DRAIN_JOB_ID = "koinonia-telnyx-drain"
DRAIN_QUEUE = "high"
# Under a flow of events (SETTLE_MIN_RATE/s or more) a drain job that took a small batch waits
# this long before the next, so events are applied in batches: measured in-process, 5 events a
# batch cost ~0.8 ms CPU each, 100 a batch ~0.1 ms, CPU taken from the web workers answering
# Telnyx. Adds at most SETTLE_SECONDS to lag; a trickle gets one pause at most and the job
# ends as before, so it does not hold a worker asleep.
SETTLE_SECONDS = 0.25
SETTLE_BELOW = 100
SETTLE_MIN_RATE = 40.0


# Event type -> handler(payload, event). Status events whose handler is statuses.handle_status
# are applied together, one set-based statement per batch, rather than one call each.
HANDLERS: dict[str, Callable[[dict[str, Any], WebhookEvent], object]] = {
    "message.received": inbound.handle_received,
    "message.sent": statuses.handle_status,
    "message.finalized": statuses.handle_status,
}


def nudge() -> None:
    """Ask for a drain soon; many nudges in a burst make one job, not one per event."""
    client = rds.client
    if client.set(NUDGE_KEY, "1", nx=True, ex=30):
        rds.queue(DRAIN_QUEUE).enqueue(
            "app.webhook_processor.drain",
            settle=SETTLE_SECONDS,
            job_id=f"{DRAIN_JOB_ID}-{time.monotonic_ns()}",
            result_ttl=0,
        )


def _payload(event: WebhookEvent) -> dict[str, Any]:
    data = (event.payload or {}).get("data") or {}
    payload = data.get("payload")
    return payload if isinstance(payload, dict) else {}


def _pending(limit: int) -> list[WebhookEvent]:
    # Retries wait 2**attempts seconds after arrival, so an unknown id does not spin the drain.
    due = text(
        "(webhook_events.attempts = 0 OR "
        "webhook_events.received_at + make_interval(secs => power(2, webhook_events.attempts)) <= now())"
    )
    return list(
        db.session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.processed_at.is_(None), WebhookEvent.provider == PROVIDER, due)
            .order_by(WebhookEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def process_batch(limit: int = BATCH_SIZE) -> int:
    """Process up to `limit` pending events in one transaction; returns how many were taken."""
    events = _pending(limit)
    if not events:
        db.session.rollback()
        return 0
    done: list[int] = []
    retry: dict[int, str] = {}
    status_events = [e for e in events if HANDLERS.get(e.event_type) is statuses.handle_status]
    if status_events:
        updates = {e.id: statuses.status_update_from_event(e.event_type, _payload(e)) for e in status_events}
        matched = statuses.apply_statuses([u for u in updates.values() if u is not None])
        for e in status_events:
            u = updates[e.id]
            if u is None or u.provider_message_id in matched:
                done.append(e.id)
            else:
                retry[e.id] = "unknown message id"
    for e in events:
        if e in status_events:
            continue
        handler = HANDLERS.get(e.event_type)
        if handler is None:
            e.error = f"no handler for {e.event_type}"
            done.append(e.id)
            continue
        try:
            with db.session.begin_nested():
                handler(_payload(e), e)
            done.append(e.id)
        except RetryLater as exc:
            retry[e.id] = str(exc) or "retry later"
        except Exception as exc:  # noqa: BLE001 - recorded on the row, retried, then parked
            log.exception("webhook handler failed", extra={"event_type": e.event_type, "webhook_event_id": e.id})
            retry[e.id] = f"{type(exc).__name__}: {exc}"[:500]
    _finish(events, done, retry)
    db.session.commit()
    return len(events)


def _finish(events: list[WebhookEvent], done: list[int], retry: dict[int, str]) -> None:
    # The table is partitioned by day on occurred_at: a lower bound lets PostgreSQL skip the
    # partitions older than the batch instead of probing every day's index for each id.
    oldest = min((e.occurred_at for e in events), default=None)
    if done:
        db.session.execute(
            text(
                "UPDATE webhook_events SET processed_at = now(), attempts = attempts + 1 "
                "WHERE id = ANY(:ids) AND occurred_at >= :oldest"
            ),
            {"ids": done, "oldest": oldest},
        )
    if not retry:
        return
    by_id = {e.id: e for e in events}
    parked = [i for i in retry if by_id[i].attempts + 1 >= MAX_ATTEMPTS]
    db.session.execute(
        text(
            "UPDATE webhook_events SET attempts = attempts + 1, error = v.error, "
            "processed_at = CASE WHEN v.park THEN now() END "
            "FROM unnest(CAST(:ids AS bigint[]), CAST(:errors AS text[]), CAST(:parks AS boolean[])) "
            "AS v(id, error, park) "
            "WHERE webhook_events.id = v.id AND webhook_events.occurred_at >= :oldest"
        ),
        {"ids": list(retry), "errors": list(retry.values()), "parks": [i in parked for i in retry], "oldest": oldest},
    )
    if parked:
        for i in parked:
            e = by_id[i]
            add_dead_letter(
                "webhook_event",
                {"webhook_event_id": e.id, "event_type": e.event_type, "event_id": e.event_id},
                f"Parked after {MAX_ATTEMPTS} tries: {retry[i]}",
                church_id=e.church_id,
                attempts=MAX_ATTEMPTS,
            )


def drain(max_seconds: float = 50.0, settle: float = 0.0) -> int:
    """Process pending events until none is due (or time is up); returns how many were taken.

    With `settle`, while events flow in, a batch smaller than SETTLE_BELOW is followed by that
    pause so the next batch is a larger one. Before stopping it clears the nudge flag and looks
    once more, so an event stored while it was finishing is either seen here or nudges a new drain.
    """
    started = time.monotonic()
    total = 0
    while time.monotonic() - started < max_seconds:
        taken = process_batch()
        total += taken
        if taken:
            flowing = total >= SETTLE_MIN_RATE * (time.monotonic() - started)
            if settle and taken < SETTLE_BELOW and flowing:
                time.sleep(settle)
            continue
        try:
            rds.client.delete(NUDGE_KEY)
        except Exception:  # noqa: BLE001 - the periodic sweep covers a Redis blip
            log.warning("could not clear the webhook nudge flag")
        taken = process_batch()
        total += taken
        if not taken:
            break
    return total


def sweep() -> int:
    """Periodic: drain whatever is pending (covers lost nudges and retries that came due)."""
    return drain(settle=SETTLE_SECONDS)


def backlog() -> dict[str, Any]:
    """Pending events and the age of the oldest, for /ops and /health/ready."""
    count, age = db.session.execute(
        text(
            "SELECT count(*), coalesce(extract(epoch FROM now() - min(received_at)), 0) "
            "FROM webhook_events WHERE processed_at IS NULL"
        )
    ).one()
    return {"pending": int(count), "oldest_seconds": round(float(age), 1)}
