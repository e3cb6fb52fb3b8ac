"""What the /ops status panel reads: queue depths, the provider circuit, this church's backlog.

The RQ queues and the webhook backlog are shared by every church, so only an operator (a user
whose email is in OPS_ADMIN_EMAILS) sees them; a church's admins see their own broadcasts,
recipients and dead letters. Dead letters themselves (recording and replaying them) live in
app.dead_letters.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text

from app.delivery.guards import circuit_breaker
from app.extensions import db, rds
from app.models import DeadLetter


def is_operator(user, operator_emails: frozenset[str]) -> bool:
    """Whether `user` runs the service (sees every church's queues), not just one church."""
    return bool(user.email) and user.email.lower() in operator_emails


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


def _by_status(sql: str, church_id: int, statuses: tuple[str, ...]) -> dict[str, int]:
    """Counts of `sql`'s (status, count) rows for one church, with a zero for each status missing."""
    out = dict.fromkeys(statuses, 0)
    out.update({status: int(n) for status, n in db.session.execute(text(sql), {"c": church_id})})
    return out


def recipient_backlog(church_id: int) -> dict[str, int]:
    """This church's recipients waiting, being sent, or in doubt right now, and those of broadcasts
    scheduled for later (counted apart: they are not in flight until their time comes)."""
    return _by_status(
        "SELECT CASE WHEN b.status = 'scheduled' THEN 'scheduled' ELSE r.status END, count(*) "
        "FROM broadcast_recipients r JOIN broadcasts b ON b.id = r.broadcast_id "
        "WHERE r.church_id = :c AND b.status IN ('sending', 'paused', 'scheduled') "
        "AND r.status IN ('queued', 'sending', 'unknown') GROUP BY 1",
        church_id,
        ("queued", "sending", "unknown", "scheduled"),
    )


def broadcasts_in_flight(church_id: int) -> dict[str, int]:
    """This church's broadcasts sending, paused or waiting for their time: its share of the queues."""
    return _by_status(
        "SELECT status, count(*) FROM broadcasts WHERE church_id = :c "
        "AND status IN ('sending', 'paused', 'scheduled') GROUP BY status",
        church_id,
        ("sending", "paused", "scheduled"),
    )
