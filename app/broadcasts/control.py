"""Controlling a broadcast after it was made: pause and resume it, send again to those who failed.

Pausing flips the broadcast's status; the batch jobs' claim statement only takes rows of a
broadcast that is `sending`, so workers stop at their next claim and rows already claimed finish
their send (they may be at the provider). Resuming enqueues batches for the rows still queued.
Nothing here ever puts a claimed row back in the queue, so nobody is texted twice.
"""

from __future__ import annotations

from sqlalchemy import select

from app import audit, merge
from app.broadcasts.audience import AudienceSpec
from app.broadcasts.services import create_broadcast, pause_broadcast, resume_broadcast
from app.delivery.errors import TRANSIENT
from app.errors import ValidationError
from app.extensions import db
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
    church = db.session.get(Church, broadcast.church_id)
    label = merge.label(broadcast.title, broadcast.body, church.name)
    return create_broadcast(
        church,
        actor,
        title=f"Resend: {label}"[: merge.TITLE_MAX],
        body=broadcast.body,
        media_urls=list(broadcast.media_urls or []),
        spec=AudienceSpec(member_ids=members),
        idempotency_key=key,
        from_number=broadcast.from_number,
    )
