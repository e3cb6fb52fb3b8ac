"""What the /ops status panel reads: queue depths, the provider circuit, this church's backlog.

Dead letters themselves (recording and replaying them) live in app.dead_letters.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text

from app.delivery.guards import circuit_breaker
from app.extensions import db, rds
from app.models import DeadLetter


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
