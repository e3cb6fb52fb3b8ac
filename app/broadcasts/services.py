"""Creating, starting, cancelling and reporting on broadcasts (the delivery engine's front door).

`create_broadcast` writes the broadcast and all its recipients in one transaction with a single
`INSERT … SELECT` over the audience, commits, and only then enqueues the batch jobs in one
Redis round trip, so a worker can never pick up a batch whose rows are not yet visible.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from rq import Callback, Queue, Retry
from sqlalchemy import func, insert, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app import audit, cache, merge
from app.billing import allowance
from app.broadcasts import tracked_links
from app.broadcasts.audience import AudienceSpec, default_number, recipients_select, single_branch_number
from app.delivery.segments import analyze
from app.errors import ValidationError
from app.extensions import db, rds
from app.links import codes as link_codes
from app.merge import TITLE_MAX
from app.models import Broadcast, BroadcastRecipient, Church, User
from app.people.custom_fields import merge_fields

log = logging.getLogger(__name__)

# Recipients per job: big enough that RQ's per-job cost (fork, a few dozen Redis calls) is
# noise, small enough that a batch finishes well inside the job timeout at 10 msg/s.
BATCH_SIZE = 500
SEND_JOB_TIMEOUT = 900
SEND_QUEUE = "default"
# How long a broadcast counts as "being worked on" after a job touched it (see resume sweep).
ACTIVE_TTL = 300


def active_key(broadcast_id: int) -> str:
    """Redis key that says jobs for this broadcast are queued or running."""
    return f"koinonia:broadcast:{broadcast_id}:active"


def _segments_per_message(church: Church, body: str, media_urls: list[str]) -> tuple[str, int]:
    info = analyze(merge.estimate(body, church, merge_fields(church.id).estimates))
    if info.too_long:
        message = f"The message is {info.segments} segments long; the most a text can be is 10."
        raise ValidationError(message, details={"body": [message]})
    # An MMS is billed as one message whatever the length of its text.
    return info.encoding, 1 if media_urls else max(1, info.segments)


def _existing(church_id: int, idempotency_key: str | None, schedule_id: int | None, occurrence_at: datetime | None):
    if idempotency_key:
        found = db.session.scalar(
            select(Broadcast).where(Broadcast.church_id == church_id, Broadcast.idempotency_key == idempotency_key)
        )
        if found is not None:
            return found
    if schedule_id is not None and occurrence_at is not None:
        return db.session.scalar(
            select(Broadcast).where(Broadcast.schedule_id == schedule_id, Broadcast.occurrence_at == occurrence_at)
        )
    return None


def create_broadcast(
    church: Church,
    user: User | None,
    *,
    body: str,
    media_urls: list[str],
    spec: AudienceSpec,
    title: str | None = None,
    idempotency_key: str,
    scheduled_at: datetime | None = None,
    schedule_id: int | None = None,
    occurrence_at: datetime | None = None,
    from_number: str | None = None,
    track_links: bool = False,
) -> Broadcast:
    """Create a broadcast and its recipients, commit, and start sending (or leave it scheduled).

    With `track_links`, each recipient's text carries its own short link in place of each link
    of the body (app.links), and segments are counted with the short links.

    Idempotent: the same idempotency key (double click, resubmitted form) or the same
    schedule occurrence returns the broadcast that already exists. Raises ValidationError
    with a sentence for the admin when it cannot be sent.
    """
    media_urls = list(media_urls or [])
    if not (body or "").strip() and not media_urls:
        raise ValidationError("Write a message (or attach a picture) before sending.")
    existing = _existing(church.id, idempotency_key, schedule_id, occurrence_at)
    if existing is not None:
        return existing
    if spec.is_empty:
        raise ValidationError("Choose who should receive this broadcast.")
    blocked = allowance.sending_blocked_reason(church)
    if blocked:
        raise ValidationError(blocked, details={"billing": [blocked]})
    tracked = tracked_links.spans(body) if track_links else []
    encoding, segments = _segments_per_message(church, counted_body(body, tracked), media_urls)
    sender = from_number or single_branch_number(church.id, spec) or default_number(church.id)
    if not sender:
        raise ValidationError("This church has no sending number yet. Add one in Settings first.")

    now = datetime.now(UTC)
    scheduled = scheduled_at is not None and scheduled_at > now
    values: dict[str, Any] = {
        "church_id": church.id,
        "created_by_id": user.id if user is not None else None,
        "title": (title or "").strip()[:TITLE_MAX] or None,
        "body": body,
        "media_urls": media_urls,
        "audience": spec.to_dict(),
        "status": "scheduled" if scheduled else "sending",
        "from_number": sender,
        "scheduled_at": scheduled_at,
        "started_at": None if scheduled else now,
        "schedule_id": schedule_id,
        "occurrence_at": occurrence_at,
        "idempotency_key": idempotency_key,
        "encoding": "UCS-2" if encoding == "UCS-2" else "GSM-7",
        "segments_per_message": segments,
        "track_links": bool(tracked),
    }
    with db.session.begin_nested():
        # ON CONFLICT covers both unique keys: a concurrent twin waits on the index, then yields.
        new_id = db.session.scalar(
            pg_insert(Broadcast).values(**values).on_conflict_do_nothing().returning(Broadcast.id)
        )
        if new_id is None:
            twin = _existing(church.id, idempotency_key, schedule_id, occurrence_at)
            if twin is not None:
                return twin
            raise ValidationError("This broadcast could not be saved; please try again.")
        count = insert_recipients(church.id, new_id, spec)
        if count == 0:
            message = "Nobody in this audience can receive texts: they have opted out or have no phone."
            raise ValidationError(message, details={"audience": [message]})
        need = allowance.check(church, count * segments)
        if not need.ok:
            message = need.reason or "This broadcast is over the plan's monthly allowance."
            raise ValidationError(message, details={"allowance": [message]})
        attach_links(church.id, new_id, tracked)
        db.session.execute(
            text("UPDATE broadcasts SET recipient_count = :n WHERE id = :id"), {"n": count, "id": new_id}
        )
        cache.bump(("broadcasts", church.id))
        audit.record(
            "broadcast.sent",
            target=("broadcast", new_id),
            church_id=church.id,
            actor=user,
            detail={
                "status": values["status"],
                "recipients": count,
                "scheduled_at": scheduled_at.isoformat() if scheduled else None,
                "schedule_id": schedule_id,
            },
        )
    db.session.commit()
    broadcast = db.session.get(Broadcast, new_id)
    assert broadcast is not None
    db.session.refresh(broadcast)
    if broadcast.status == "sending":
        enqueue_batches(broadcast.id, count)
    log.info(
        "broadcast created",
        extra={"broadcast_id": new_id, "church_id": church.id, "recipients": count, "status": broadcast.status},
    )
    return broadcast


def counted_body(body: str, tracked: list[tracked_links.Span]) -> str:
    """The body whose segments are counted: with short links in place of the tracked ones."""
    return tracked_links.shortened(body, tracked_links.base_url()) if tracked else body


def attach_links(church_id: int, broadcast_id: int, tracked: list[tracked_links.Span]) -> None:
    """A short code per recipient and tracked link, written after the recipients (set-based)."""
    if tracked:
        link_codes.attach(church_id, broadcast_id, [(s.start, s.end, s.url) for s in tracked])


def insert_recipients(church_id: int, broadcast_id: int, spec: AudienceSpec) -> int:
    """One INSERT … SELECT of every reachable audience member; returns how many rows."""
    audience = recipients_select(church_id, spec).subquery()
    stmt = insert(BroadcastRecipient.__table__).from_select(
        ["church_id", "broadcast_id", "member_id", "to_e164", "status"],
        select(
            literal(church_id), literal(broadcast_id), audience.c.member_id, audience.c.phone_e164, literal("queued")
        ),
    )
    # Counted inside PostgreSQL: the ids never travel to Python.
    inserted = stmt.returning(BroadcastRecipient.__table__.c.id).cte("inserted")
    return int(db.session.scalar(select(func.count()).select_from(inserted)) or 0)


def enqueue_batches(broadcast_id: int, recipients: int, *, delay: float | None = None) -> int:
    """Enqueue enough batch jobs for `recipients` queued rows in one round trip; returns the count.

    Jobs are interchangeable: each claims whatever queued rows are left (SKIP LOCKED), so an
    extra job is harmless and a lost one is replaced by the resume sweep.
    """
    jobs = max(1, math.ceil(recipients / BATCH_SIZE))
    queue = rds.queue(SEND_QUEUE)
    rds.client.set(active_key(broadcast_id), "1", ex=ACTIVE_TTL + int(delay or 0))
    if delay:
        for n in range(jobs):
            queue.enqueue_in(
                _delta(delay),
                "app.broadcasts.tasks.send_batch",
                broadcast_id,
                n,
                job_timeout=SEND_JOB_TIMEOUT,
                result_ttl=0,
                failure_ttl=7 * 86400,
            )
        return jobs

    data = [
        Queue.prepare_data(
            "app.broadcasts.tasks.send_batch",
            args=(broadcast_id, n),
            timeout=SEND_JOB_TIMEOUT,
            result_ttl=0,
            failure_ttl=7 * 86400,
            retry=Retry(max=2, interval=[10, 60]),
            on_failure=Callback("app.broadcasts.tasks.on_batch_failure"),
        )
        for n in range(jobs)
    ]
    queue.enqueue_many(data)
    return jobs


def _delta(seconds: float):
    return timedelta(seconds=max(1.0, seconds))


def start_due_broadcasts() -> int:
    """Periodic: move scheduled broadcasts whose time has come to sending and enqueue them."""
    rows = db.session.execute(
        text(
            "UPDATE broadcasts SET status = 'sending', started_at = now() "
            "WHERE status = 'scheduled' AND scheduled_at <= now() RETURNING id, recipient_count, church_id"
        )
    ).all()
    cache.bump(*{("broadcasts", church_id) for _, _, church_id in rows})
    db.session.commit()
    for broadcast_id, count, _ in rows:
        enqueue_batches(broadcast_id, count)
    return len(rows)


def resume_stalled_broadcasts() -> int:
    """Periodic: re-enqueue sending broadcasts with queued rows and no job alive (e.g. Redis lost)."""
    rows = db.session.execute(
        text(
            "SELECT r.broadcast_id, count(*) FROM broadcast_recipients r "
            "JOIN broadcasts b ON b.id = r.broadcast_id "
            "WHERE r.status = 'queued' AND b.status = 'sending' GROUP BY r.broadcast_id"
        )
    ).all()
    db.session.rollback()
    resumed = 0
    for broadcast_id, queued in rows:
        if rds.client.exists(active_key(broadcast_id)):
            continue
        enqueue_batches(broadcast_id, queued)
        resumed += 1
    return resumed


def cancel_broadcast(broadcast: Broadcast, actor: User | None = None) -> int:
    """Stop a scheduled or sending broadcast: every recipient not yet claimed becomes skipped.

    Rows a worker already claimed finish their send (they may be at the provider already).
    Returns how many recipients were skipped.
    """
    if broadcast.status not in ("scheduled", "sending", "paused", "draft"):
        raise ValidationError("Only a broadcast that has not finished can be cancelled.")
    skipped = db.session.execute(
        text(
            "UPDATE broadcast_recipients SET status = 'skipped', error_code = 'cancelled', updated_at = now() "
            "WHERE broadcast_id = :id AND status = 'queued'"
        ),
        {"id": broadcast.id},
    ).rowcount
    db.session.execute(
        text(
            "UPDATE broadcasts SET status = 'cancelled', completed_at = now(), "
            "skipped_count = skipped_count + :n WHERE id = :id"
        ),
        {"id": broadcast.id, "n": skipped},
    )
    cache.bump(("broadcasts", broadcast.church_id))
    audit.record(
        "broadcast.cancelled", target=broadcast, church_id=broadcast.church_id, actor=actor, detail={"skipped": skipped}
    )
    db.session.commit()
    db.session.refresh(broadcast)
    return skipped


def pause_broadcast(broadcast: Broadcast) -> None:
    """Hold a sending broadcast: workers stop claiming its rows until it is resumed."""
    if broadcast.status != "sending":
        raise ValidationError("Only a broadcast that is sending can be paused.")
    db.session.execute(
        text("UPDATE broadcasts SET status = 'paused' WHERE id = :id AND status = 'sending'"), {"id": broadcast.id}
    )
    cache.bump(("broadcasts", broadcast.church_id))
    db.session.commit()
    db.session.refresh(broadcast)


def resume_broadcast(broadcast: Broadcast) -> int:
    """Continue a paused broadcast; returns how many batch jobs were enqueued."""
    if broadcast.status != "paused":
        raise ValidationError("Only a paused broadcast can be resumed.")
    db.session.execute(
        text("UPDATE broadcasts SET status = 'sending' WHERE id = :id AND status = 'paused'"), {"id": broadcast.id}
    )
    cache.bump(("broadcasts", broadcast.church_id))
    queued = db.session.scalar(
        select(func.count())
        .select_from(BroadcastRecipient)
        .where(BroadcastRecipient.broadcast_id == broadcast.id, BroadcastRecipient.status == "queued")
    )
    db.session.commit()
    db.session.refresh(broadcast)
    return enqueue_batches(broadcast.id, queued or 0) if queued else 0


def broadcast_progress(broadcast: Broadcast) -> dict[str, Any]:
    """Counts by status, percent settled and a done flag, from the counter columns only.

    The counters hold how many recipients are currently in each status, so queued (which
    includes the few being sent this second) is what is left of the total.
    """
    total = broadcast.recipient_count or 0
    sent = broadcast.sent_count or 0
    delivered = broadcast.delivered_count or 0
    failed = broadcast.failed_count or 0
    skipped = broadcast.skipped_count or 0
    unknown = getattr(broadcast, "unknown_count", 0) or 0
    queued = max(total - sent - delivered - failed - skipped - unknown, 0)
    settled = delivered + failed + skipped + unknown
    return {
        "total": total,
        "queued": queued,
        "sent": sent,
        "delivered": delivered,
        "failed": failed,
        "skipped": skipped,
        "unknown": unknown,
        "accepted": sent + delivered,
        "percent": round(100 * settled / total) if total else 100,
        "percent_processed": round(100 * (total - queued) / total) if total else 100,
        "done": _done(broadcast, settled, total),
        "status": broadcast.status,
    }


# After the last text went out, receipts that have not come within this long are not awaited.
RECEIPT_WAIT_SECONDS = 600


def _done(broadcast: Broadcast, settled: int, total: int) -> bool:
    """Nothing more will change: cancelled, every recipient settled, or receipts long overdue."""
    if broadcast.status == "cancelled" or (total > 0 and settled >= total):
        return True
    if broadcast.status == "sent" and broadcast.completed_at is not None:
        return (datetime.now(UTC) - broadcast.completed_at).total_seconds() > RECEIPT_WAIT_SECONDS
    return False
