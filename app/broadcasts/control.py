"""Controlling a broadcast after it was made: edit it until it starts, pause and resume it, send
again to those who failed.

An edit holds the broadcast's row lock from its status check to its commit. Starting a scheduled
broadcast is an UPDATE of that row, so a start and an edit take turns: the start either comes
first (and the edit is refused) or waits and sends the edited text to the edited audience.

Pausing flips the broadcast's status; the batch jobs' claim statement only takes rows of a
broadcast that is `sending`, so workers stop at their next claim and rows already claimed finish
their send (they may be at the provider). Resuming enqueues batches for the rows still queued.
Nothing here ever puts a claimed row back in the queue, so nobody is texted twice.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select

from app import audit, cache, merge
from app.billing import allowance
from app.broadcasts import tracked_links
from app.broadcasts.audience import AudienceSpec, default_number, single_branch_number
from app.broadcasts.services import (
    _segments_per_message,
    counted_body,
    create_broadcast,
    enqueue_batches,
    insert_recipients,
    pause_broadcast,
    resume_broadcast,
)
from app.delivery.errors import TRANSIENT
from app.errors import Conflict, ValidationError
from app.extensions import db
from app.links import codes as link_codes
from app.models import Broadcast, BroadcastRecipient, Church, User


def pause(broadcast: Broadcast, actor: User) -> None:
    """Hold a sending broadcast; its workers stop at their next claim."""
    audit.record("broadcast.paused", target=broadcast, church_id=broadcast.church_id, actor=actor)
    pause_broadcast(broadcast)


def resume(broadcast: Broadcast, actor: User) -> int:
    """Carry on with a paused broadcast; returns how many batch jobs were enqueued."""
    audit.record("broadcast.resumed", target=broadcast, church_id=broadcast.church_id, actor=actor)
    return resume_broadcast(broadcast)


def retryable_failed_members(broadcast: Broadcast, limit: int | None = None) -> list[int]:
    """Members whose text failed for a reason a later try may get past (delivery.errors.retryable)."""
    return list(
        db.session.scalars(
            select(BroadcastRecipient.member_id)
            .where(
                BroadcastRecipient.church_id == broadcast.church_id,
                BroadcastRecipient.broadcast_id == broadcast.id,
                BroadcastRecipient.status == "failed",
                BroadcastRecipient.error_code.in_(sorted(TRANSIENT)),
                BroadcastRecipient.member_id.is_not(None),
            )
            .distinct()
            .order_by(BroadcastRecipient.member_id)
            .limit(limit)
        )
    )


def resend_failed(broadcast: Broadcast, actor: User) -> Broadcast:
    """A new broadcast of the same text to the failed recipients worth trying again, made once.

    Its idempotency key names the original, so a second click (or a second admin) gets the
    same resend back instead of texting people twice. Opted-out members are left out by the
    audience query as in any broadcast.
    """
    if broadcast.status not in ("sent", "sending", "paused", "cancelled"):
        raise ValidationError("Only a broadcast that has started can be sent again.")
    key = f"resend-failed-{broadcast.id}"
    existing = db.session.scalar(
        select(Broadcast).where(Broadcast.church_id == broadcast.church_id, Broadcast.idempotency_key == key)
    )
    if existing is not None:
        return existing
    members = retryable_failed_members(broadcast)
    if not members:
        raise ValidationError("Nobody here failed for a reason that sending again could fix.")
    return send_again(broadcast, actor, members, prefix="Resend", idempotency_key=key)


def send_again(original: Broadcast, actor: User, member_ids: list[int], *, prefix: str, idempotency_key: str):
    """A new broadcast of `original`'s text and media to `member_ids`, from the same number,
    titled "<prefix>: <original's label>" (the composer's checks and allowance apply)."""
    church = db.session.get(Church, original.church_id)
    label = merge.label(original.title, original.body, church.name)
    return create_broadcast(
        church,
        actor,
        title=f"{prefix}: {label}"[: merge.TITLE_MAX],
        body=original.body,
        media_urls=list(original.media_urls or []),
        spec=AudienceSpec(member_ids=member_ids),
        idempotency_key=idempotency_key,
        from_number=original.from_number,
        track_links=original.track_links,
    )


STARTED = "This broadcast has started sending, so it can no longer be changed."


def edit_scheduled(
    broadcast: Broadcast,
    actor: User,
    *,
    title: str | None,
    body: str,
    media_urls: list[str],
    spec: AudienceSpec,
    scheduled_at: datetime | None,
    track_links: bool | None = None,
) -> Broadcast:
    """Change a scheduled broadcast's text, audience and time (None or past: send it now).

    `track_links` None keeps the broadcast's choice; its links and codes are written again.

    Conflict once it has started; ValidationError for what the composer would refuse.
    """
    locked = db.session.scalar(
        select(Broadcast)
        .where(Broadcast.church_id == broadcast.church_id, Broadcast.id == broadcast.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if locked is None or locked.status != "scheduled":
        raise Conflict(STARTED)
    if not body.strip() and not media_urls:
        raise ValidationError("Write a message (or attach a picture) before sending.")
    if spec.is_empty:
        raise ValidationError("Choose who should receive this broadcast.")
    church = db.session.get(Church, locked.church_id)
    track = locked.track_links if track_links is None else track_links
    tracked = tracked_links.spans(body) if track else []
    encoding, segments = _segments_per_message(church, counted_body(body, tracked), media_urls)
    # Every recipient is still queued: the audience is simply written again.
    db.session.execute(delete(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == locked.id))
    count = insert_recipients(church.id, locked.id, spec)
    if count == 0:
        raise ValidationError("Nobody in this audience can receive texts: they have opted out or have no phone.")
    need = allowance.check(church, count * segments)
    if not need.ok:
        raise ValidationError(need.reason or "This broadcast is over the plan's monthly allowance.")
    # The old codes went with the old recipients; the links may have changed with the text.
    link_codes.attach(church.id, locked.id, [(s.start, s.end, s.url) for s in tracked])
    locked.track_links = bool(tracked)
    now = datetime.now(UTC)
    start_now = scheduled_at is None or scheduled_at <= now
    locked.title = (title or "").strip()[: merge.TITLE_MAX] or None
    locked.body = body
    locked.media_urls = media_urls
    locked.audience = spec.to_dict()
    locked.scheduled_at = None if start_now else scheduled_at
    locked.status = "sending" if start_now else "scheduled"
    locked.started_at = now if start_now else None
    locked.encoding = "UCS-2" if encoding == "UCS-2" else "GSM-7"
    locked.segments_per_message = segments
    locked.recipient_count = count
    locked.from_number = single_branch_number(church.id, spec) or locked.from_number or default_number(church.id)
    cache.bump(("broadcasts", church.id))
    audit.record(
        "broadcast.edited",
        target=locked,
        church_id=church.id,
        actor=actor,
        detail={"recipients": count, "scheduled_at": None if start_now else scheduled_at.isoformat()},
    )
    db.session.commit()
    if start_now:
        enqueue_batches(locked.id, count)
    return locked
