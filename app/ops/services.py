"""Dead letters (work that failed for good) and the operational status shown on /ops.

A dead letter keeps what is needed to try again: replaying a batch of broadcast recipients
re-queues only the ones that never reached the provider and still may be texted, so a
replay can never text anyone twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text

from app.delivery.guards import circuit_breaker
from app.extensions import db, rds
from app.models import DeadLetter

log = logging.getLogger(__name__)

KINDS = {
    "broadcast_recipients": "Recipients that could not be sent",
    "broadcast_batch": "A send job that kept failing",
    "broadcast_paused": "A broadcast paused by the system",
    "webhook_event": "A provider event that could not be applied",
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
            "payload": _json(payload),
            "error": error[:2000],
            "attempts": attempts,
        },
    )


def _json(payload: dict[str, Any]) -> str:
    import json

    return json.dumps(payload, default=str)


def replay_dead_letter(letter: DeadLetter) -> str:
    """Try the work again; returns a sentence saying what was done."""
    from app.broadcasts.services import enqueue_batches

    payload = letter.payload or {}
    message: str
    if letter.kind in ("broadcast_recipients", "broadcast_batch", "broadcast_paused"):
        broadcast_id = int(payload["broadcast_id"])
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
        status = db.session.scalar(text("SELECT status FROM broadcasts WHERE id = :b"), {"b": broadcast_id})
        letter.replayed_at = datetime.now(UTC)
        db.session.commit()
        if queued and status == "sending":
            enqueue_batches(broadcast_id, int(queued))
        message = f"{requeued} recipient(s) re-queued; {queued or 0} waiting to send."
        if reopened:
            message += " The broadcast is sending again."
    elif letter.kind == "webhook_event":
        db.session.execute(
            text("UPDATE webhook_events SET processed_at = NULL, attempts = 0, error = NULL WHERE id = :id"),
            {"id": int(payload["webhook_event_id"])},
        )
        letter.replayed_at = datetime.now(UTC)
        db.session.commit()
        from app.api.telnyx_events import nudge

        nudge()
        message = "The event will be processed again."
    else:
        raise ValueError(f"cannot replay a dead letter of kind {letter.kind!r}")
    log.info("dead letter replayed", extra={"dead_letter_id": letter.id, "kind": letter.kind})
    return message


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


def circuit_state() -> dict[str, Any]:
    """The provider circuit breaker as every worker sees it."""
    return circuit_breaker().state()


def queue_depths() -> dict[str, int]:
    """Jobs waiting per RQ queue, plus scheduled (deferred) jobs."""
    pipe = rds.client.pipeline(transaction=False)
    for queue in rds.queues:
        pipe.llen(queue.key)
    for queue in rds.queues:
        pipe.zcard(queue.scheduled_job_registry.key)
    results = pipe.execute()
    n = len(rds.queues)
    depths = {q.name: int(d) for q, d in zip(rds.queues, results[:n], strict=True)}
    depths["scheduled"] = sum(int(x) for x in results[n:])
    return depths


def dead_letter_counts(church_id: int) -> dict[str, int]:
    """Pending and total dead letters of one church."""
    row = db.session.execute(
        select(func.count(), func.count().filter(DeadLetter.replayed_at.is_(None))).where(
            DeadLetter.church_id == church_id
        )
    ).one()
    return {"total": int(row[0]), "pending": int(row[1])}


def recipient_backlog(church_id: int) -> dict[str, int]:
    """This church's recipients waiting, being sent, or in doubt right now."""
    rows = db.session.execute(
        text(
            "SELECT r.status, count(*) FROM broadcast_recipients r JOIN broadcasts b ON b.id = r.broadcast_id "
            "WHERE r.church_id = :c AND b.status IN ('sending', 'paused', 'scheduled') "
            "AND r.status IN ('queued', 'sending', 'unknown') GROUP BY r.status"
        ),
        {"c": church_id},
    ).all()
    out = {"queued": 0, "sending": 0, "unknown": 0}
    out.update({status: int(n) for status, n in rows})
    return out
