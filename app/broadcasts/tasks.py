"""Worker jobs of the delivery engine: send a batch, reap lost claims, start due broadcasts.

One job sends one batch (hundreds of recipients): it claims rows with SKIP LOCKED and commits
the claim before any HTTP call, sends through one keep-alive provider client from a small
thread pool under the shared per-number rate limit and circuit breaker, and writes results
back in bulk. A claimed row is never put back to `queued` once its request may have reached
the provider, which is what makes "no recipient is ever texted twice" hold across crashes.
The pool, collector and write-back live in app.broadcasts.sending; the job entry points stay
here because RQ stores their dotted paths.
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import text

from app import cache
from app.billing import allowance
from app.broadcasts import services, tracked_links
from app.broadcasts.quiet_hours import quiet_until
from app.broadcasts.sending import BatchContext, Claimed, send_rows
from app.broadcasts.services import ACTIVE_TTL, BATCH_SIZE, SEND_JOB_TIMEOUT, SEND_QUEUE, active_key
from app.dead_letters import add_dead_letter
from app.delivery.engine import finish_broadcasts, reap_stale_claims
from app.delivery.guards import circuit_breaker
from app.extensions import db, rds
from app.models import Church
from app.people.custom_fields import church_fields

log = logging.getLogger(__name__)

REAP_AFTER_SECONDS = 300


# -- scheduling helpers ------------------------------------------------------------------------


def defer(broadcast_id: int, seconds: float, batch_no: int = 0) -> None:
    """Run one more batch of this broadcast later (quiet hours, open circuit, rate limit)."""
    seconds = max(1.0, seconds)
    rds.client.set(active_key(broadcast_id), "1", ex=int(ACTIVE_TTL + seconds))
    rds.queue(SEND_QUEUE).enqueue_in(
        timedelta(seconds=seconds),
        "app.broadcasts.tasks.send_batch",
        broadcast_id,
        batch_no,
        job_timeout=SEND_JOB_TIMEOUT,
        result_ttl=0,
        failure_ttl=7 * 86400,
    )


# -- the batch job ----------------------------------------------------------------------------


def claim(broadcast_id: int, limit: int = BATCH_SIZE, *, with_codes: bool = False) -> list[Claimed]:
    """Take up to `limit` queued recipients of a broadcast for this worker (committed at once).

    Only while the broadcast is `sending`: a pause (or cancel) stops every worker at its next claim.
    `with_codes` also reads each recipient's tracked-link codes (by link position).
    """
    codes = (
        "(SELECT json_object_agg(l.position, lc.code) FROM link_codes lc "
        "JOIN tracked_links l ON l.id = lc.link_id WHERE lc.recipient_id = c.id)"
        if with_codes
        else "NULL"
    )
    rows = db.session.execute(
        text(
            f"""
            WITH claimed AS (
              UPDATE broadcast_recipients SET status = 'sending', claimed_at = now(), attempts = attempts + 1,
                     updated_at = now()
              WHERE id IN (
                SELECT id FROM broadcast_recipients WHERE broadcast_id = :b AND status = 'queued'
                  AND EXISTS (SELECT 1 FROM broadcasts WHERE id = :b AND status = 'sending')
                ORDER BY id LIMIT :n FOR UPDATE SKIP LOCKED)
              RETURNING id, member_id, to_e164
            )
            SELECT c.id, c.member_id, c.to_e164, m.first_name, m.last_name, m.opted_out_at IS NOT NULL,
                   (SELECT jsonb_object_agg(f.key, coalesce(v.value_text, trim_scale(v.value_number)::text,
                                                            v.value_date::text))
                    FROM member_field_values v JOIN custom_fields f ON f.id = v.field_id
                    WHERE v.member_id = c.member_id) AS custom,
                   {codes} AS codes
            FROM claimed c LEFT JOIN members m ON m.id = c.member_id
            ORDER BY c.id
            """
        ),
        {"b": broadcast_id, "n": limit},
    ).all()
    db.session.commit()
    return [
        Claimed(
            r[0], r[1], r[2], r[3], r[4], bool(r[5]), dict(r[6] or {}), {int(k): v for k, v in (r[7] or {}).items()}
        )
        for r in rows
    ]


def queued_count(broadcast_id: int, limit: int = BATCH_SIZE) -> int:
    """How many recipients of a broadcast wait to be sent, counting up to `limit`."""
    count = db.session.scalar(
        text(
            "SELECT count(*) FROM (SELECT 1 FROM broadcast_recipients "
            "WHERE broadcast_id = :b AND status = 'queued' LIMIT :n) AS q"
        ),
        {"b": broadcast_id, "n": limit},
    )
    return int(count or 0)


def _load(broadcast_id: int) -> tuple[str, BatchContext] | None:
    row = db.session.execute(
        text(
            "SELECT b.status, b.church_id, b.body, b.media_urls, b.from_number, b.segments_per_message, "
            "coalesce(p.number_type, 'long_code'), b.track_links FROM broadcasts b "
            "LEFT JOIN phone_numbers p ON p.e164 = b.from_number WHERE b.id = :b"
        ),
        {"b": broadcast_id},
    ).first()
    if row is None:
        return None
    church = db.session.get(Church, row[1])
    ctx = BatchContext(
        broadcast_id,
        church,
        row[2],
        list(row[3] or []),
        row[4],
        row[6],
        church.id,
        church.name,
        int(row[5] or 1),
        custom_keys=tuple(f.key for f in church_fields(church.id)),
    )
    if row[7]:
        ctx.link_places = [
            (int(start), int(end), int(position))
            for start, end, position in db.session.execute(
                text("SELECT span_start, span_end, position FROM tracked_links WHERE broadcast_id = :b"),
                {"b": broadcast_id},
            )
        ]
        ctx.link_base = tracked_links.base_url()
    return row[0], ctx


def send_batch(broadcast_id: int, batch_no: int = 0, limit: int = BATCH_SIZE) -> str:
    """Claim and send one batch of a broadcast; returns a one-line summary for the job log."""
    loaded = _load(broadcast_id)
    if loaded is None:
        return "broadcast gone"
    status, ctx = loaded
    if status != "sending":
        return f"broadcast is {status}"
    rds.client.set(active_key(broadcast_id), "1", ex=ACTIVE_TTL)
    until = quiet_until(ctx.church)
    if until is not None:
        defer(broadcast_id, (until - datetime.now(UTC)).total_seconds() + random.uniform(0, 30), batch_no)
        return f"quiet hours until {until.isoformat()}"
    circuit = circuit_breaker()
    state = circuit.state()
    if state["state"] == "open":
        defer(broadcast_id, state["retry_in"] + random.uniform(0, 2), batch_no)
        return "circuit open"
    blocked = allowance.sending_blocked_reason(ctx.church)
    waiting = queued_count(broadcast_id, limit)
    if not waiting:
        finish_broadcasts([broadcast_id])
        db.session.commit()
        return "nothing queued"
    reason = blocked or allowance.check(ctx.church, waiting * ctx.segments).reason
    if reason:
        _pause_for(ctx, reason)
        return "paused: " + reason
    # Rows are claimed a few at a time as the pool can take them, never the whole batch up
    # front: a worker that dies holds only the claims it was about to send.
    if ctx.link_places:
        summary = send_rows(ctx, lambda n: claim(broadcast_id, n, with_codes=True), waiting, circuit)
    else:
        summary = send_rows(ctx, lambda n: claim(broadcast_id, n), waiting, circuit)
    finish_broadcasts([broadcast_id])
    db.session.commit()
    if ctx.paused.is_set():
        defer(broadcast_id, max(circuit.state()["retry_in"], 1.0) + random.uniform(0, 2), batch_no)
    return summary


def _pause_for(ctx: BatchContext, reason: str) -> None:
    """Out of allowance (or billing blocked): pause, visibly, on /ops (nothing was claimed)."""
    db.session.execute(
        text("UPDATE broadcasts SET status = 'paused' WHERE id = :b AND status = 'sending'"), {"b": ctx.broadcast_id}
    )
    cache.bump(("broadcasts", ctx.church.id))
    add_dead_letter(
        "broadcast_paused",
        {"broadcast_id": ctx.broadcast_id},
        f"Sending paused: {reason} Replay resumes it.",
        church_id=ctx.church.id,
    )
    db.session.commit()
    log.warning("broadcast paused", extra={"broadcast_id": ctx.broadcast_id, "reason": reason})


def on_batch_failure(job, connection, exc_type, exc_value, tb) -> None:
    """RQ failure callback: when a batch job's retries are spent, keep it as a dead letter."""
    if job.retries_left:
        return
    try:
        db.session.rollback()
        broadcast_id = int(job.args[0])
        church_id = db.session.scalar(text("SELECT church_id FROM broadcasts WHERE id = :b"), {"b": broadcast_id})
        add_dead_letter(
            "broadcast_batch",
            {"broadcast_id": broadcast_id, "batch_no": job.args[1] if len(job.args) > 1 else 0, "job_id": job.id},
            f"{getattr(exc_type, '__name__', exc_type)}: {exc_value}",
            church_id=church_id,
            attempts=3,
        )
        db.session.commit()
    except Exception:  # noqa: BLE001 - the failed job registry still has it
        log.exception("could not record a dead letter for job %s", job.id)


# -- periodic ---------------------------------------------------------------------------------


def reap_stale_claims_job() -> int:
    """Periodic: rows stuck in `sending` (a worker died) become `unknown`, never re-sent."""
    return reap_stale_claims(int(current_app.config.get("REAP_CLAIMS_AFTER_SECONDS") or REAP_AFTER_SECONDS))


def start_due_broadcasts() -> int:
    """Periodic: start scheduled broadcasts whose time has come."""
    return services.start_due_broadcasts()


def resume_stalled_broadcasts() -> int:
    """Periodic: re-enqueue sending broadcasts whose jobs were lost (Redis flushed or down)."""
    return services.resume_stalled_broadcasts()


def resume_broadcast(broadcast_id: int, queued: int) -> int:
    """Job: enqueue batches for rows a dead-letter replay put back in the queue (app.dead_letters)."""
    return services.enqueue_batches(broadcast_id, queued)
