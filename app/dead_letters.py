"""Dead letters: work that failed for good, kept so an operator can replay it.

A leaf: senders and the webhook processor record dead letters here, and /ops and the
`replay-dead-letters` command replay them from here, without importing one another.
Replaying does the database part at once (so the operator reads what was done) and hands
the rest to the RQ job named in REPLAY_JOBS by its dotted path: nothing here imports the
domain that carries the work on.

Replaying a batch of broadcast recipients re-queues only the ones that never reached the
provider and still may be texted, so a replay can never text anyone twice.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text

from app import cache
from app.extensions import db, rds
from app.models import DeadLetter

log = logging.getLogger(__name__)

KINDS = {
    "broadcast_recipients": "Recipients that could not be sent",
    "broadcast_batch": "A send job that kept failing",
    "broadcast_paused": "A broadcast paused by the system",
    "webhook_event": "A provider event that could not be applied",
    "mail": "An email that could not be sent",
}
BROADCAST_KINDS = ("broadcast_recipients", "broadcast_batch", "broadcast_paused")

# Kind -> (RQ job that carries a replay on, its queue). Jobs are named by dotted path, as RQ
# stores them, so replaying imports no domain package.
REPLAY_JOBS = {
    **dict.fromkeys(BROADCAST_KINDS, ("app.broadcasts.tasks.resume_broadcast", "default")),
    "webhook_event": ("app.webhook_processor.sweep", "high"),
}


def add_dead_letter(
    kind: str, payload: dict[str, Any], error: str, *, church_id: int | None = None, attempts: int = 1
) -> None:
    """Record failed-for-good work in the caller's transaction."""
    db.session.execute(
        text(
            "INSERT INTO dead_letters (church_id, kind, payload, error, attempts) "
            "VALUES (:church_id, :kind, CAST(:payload AS jsonb), :error, :attempts)"
        ),
        {
            "church_id": church_id,
            "kind": kind,
            "payload": json.dumps(payload, default=str),
            "error": error[:2000],
            "attempts": attempts,
        },
    )


def replay_dead_letter(letter: DeadLetter) -> str:
    """Try the work again; returns a sentence saying what was done."""
    payload = letter.payload or {}
    if letter.kind in BROADCAST_KINDS:
        message, job_args = _requeue_recipients(letter, int(payload["broadcast_id"]), payload)
    elif letter.kind == "webhook_event":
        db.session.execute(
            text("UPDATE webhook_events SET processed_at = NULL, attempts = 0, error = NULL WHERE id = :id"),
            {"id": int(payload["webhook_event_id"])},
        )
        letter.replayed_at = datetime.now(UTC)
        db.session.commit()
        message, job_args = "The event will be processed again.", ()
    elif letter.kind == "mail":
        # The body is not kept (it may hold a sign-in link) and its links expire anyway.
        raise ValueError("mail is not re-sent; the person can ask for a new link, or check SMTP_URL")
    else:
        raise ValueError(f"cannot replay a dead letter of kind {letter.kind!r}")
    if job_args is not None:
        job, queue = REPLAY_JOBS[letter.kind]
        rds.queue(queue).enqueue(job, *job_args, result_ttl=0, failure_ttl=7 * 86400)
    log.info("dead letter replayed", extra={"dead_letter_id": letter.id, "kind": letter.kind})
    return message


def _requeue_recipients(letter: DeadLetter, broadcast_id: int, payload: dict[str, Any]) -> tuple[str, tuple | None]:
    """Re-queue what never reached the provider and reopen the broadcast; commits.

    Returns the operator's sentence and the replay job's arguments (None: nothing to send).
    """
    requeued = 0
    ids = [int(i) for i in payload.get("recipient_ids") or []]
    if ids:
        # Only rows that never reached the provider, whose member has not opted out since.
        requeued = db.session.execute(
            text(
                "UPDATE broadcast_recipients r SET status = 'queued', error_code = NULL, error_detail = NULL, "
                "failed_at = NULL, claimed_at = NULL, updated_at = now() "
                "WHERE r.id = ANY(:ids) AND r.broadcast_id = :b AND r.status = 'failed' "
                "AND r.provider_message_id IS NULL AND coalesce(r.error_code, '') <> '40300' "
                "AND NOT EXISTS (SELECT 1 FROM members m WHERE m.id = r.member_id AND m.opted_out_at IS NOT NULL)"
            ),
            {"ids": ids, "b": broadcast_id},
        ).rowcount
        if requeued:
            db.session.execute(
                text("UPDATE broadcasts SET failed_count = failed_count - :n WHERE id = :b"),
                {"n": requeued, "b": broadcast_id},
            )
    reopened = db.session.execute(
        text(
            "UPDATE broadcasts SET status = 'sending', completed_at = NULL WHERE id = :b "
            "AND status IN ('sent', 'paused') AND EXISTS (SELECT 1 FROM broadcast_recipients "
            "WHERE broadcast_id = :b AND status = 'queued')"
        ),
        {"b": broadcast_id},
    ).rowcount
    queued = db.session.scalar(
        text("SELECT count(*) FROM broadcast_recipients WHERE broadcast_id = :b AND status = 'queued'"),
        {"b": broadcast_id},
    )
    found = db.session.execute(
        text("SELECT status, church_id FROM broadcasts WHERE id = :b"), {"b": broadcast_id}
    ).first()
    status = found.status if found else None
    if found and (requeued or reopened):
        cache.bump(("broadcasts", found.church_id))
    letter.replayed_at = datetime.now(UTC)
    db.session.commit()
    message = f"{requeued} recipient(s) re-queued; {queued or 0} waiting to send."
    if reopened:
        message += " The broadcast is sending again."
    return message, ((broadcast_id, int(queued)) if queued and status == "sending" else None)


def replay_pending(church_id: int | None = None) -> list[tuple[int, str]]:
    """Replay every dead letter not replayed yet (CLI); returns (id, outcome) pairs."""
    query = select(DeadLetter).where(DeadLetter.replayed_at.is_(None)).order_by(DeadLetter.id)
    if church_id is not None:
        query = query.where(DeadLetter.church_id == church_id)
    results = []
    for letter in db.session.scalars(query).all():
        try:
            results.append((letter.id, replay_dead_letter(letter)))
        except (ValueError, KeyError) as exc:
            db.session.rollback()
            results.append((letter.id, f"not replayable: {exc}"))
    return results
