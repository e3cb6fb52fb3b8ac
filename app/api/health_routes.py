"""Health checks for load balancers and operators."""

from __future__ import annotations

import time

from flask import current_app, jsonify
from sqlalchemy import text

from app.api import bp
from app.delivery.guards import circuit_breaker
from app.extensions import csrf, db, limiter, rds
from app.replicas import replica_for


@bp.get("/health")
@limiter.exempt
@csrf.exempt
def health():
    """Liveness: the process answers. No I/O."""
    return jsonify(status="ok")


def _timed(check):
    started = time.perf_counter()
    try:
        detail = check() or {}
        return {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 2), **detail}
    except Exception as exc:  # noqa: BLE001 - any failure makes the check fail, with its reason
        return {"status": "fail", "ms": round((time.perf_counter() - started) * 1000, 2), "error": type(exc).__name__}


def _check_database():
    db.session.execute(text("SELECT 1"))
    db.session.rollback()


def _check_redis():
    client = rds.client
    pipe = client.pipeline(transaction=False)
    pipe.ping()
    for queue in rds.queues:
        pipe.llen(queue.key)
    results = pipe.execute()
    return {"queues": {q.name: depth for q, depth in zip(rds.queues, results[1:], strict=True)}}


def _check_circuit():
    """The provider circuit: reported, never failing readiness (see ready())."""
    return {"circuit": circuit_breaker().state()}


def _check_replica():
    """The read replica's lag, measured now; whether it serves reads (app/replicas.py)."""
    replica = replica_for(current_app)
    return {"replica": replica.status(fresh=True) if replica else {"configured": False}}


READINESS_CHECKS = {
    "database": _check_database,
    "redis": _check_redis,
    "circuit": _check_circuit,
    "replica": _check_replica,
}
# An open circuit means Telnyx is failing, not this instance: taking the web tier out of the
# load balancer would stop the inbox and webhook intake too, so it is reported, not fatal.
# A lagging or missing replica only sends reads to the primary: reported, not fatal either.
NON_CRITICAL = {"circuit", "replica"}


@bp.get("/health/ready")
@limiter.exempt
def ready():
    """Readiness: database and Redis reachable, with timings and queue depths; 503 naming what failed."""
    checks = {name: _timed(check) for name, check in READINESS_CHECKS.items()}
    circuit = checks["circuit"].get("circuit", {}).get("state")
    if circuit and circuit != "closed":
        checks["circuit"]["status"] = "degraded"
    replica = checks["replica"].get("replica", {})
    if replica.get("configured") and not replica.get("serving_reads"):
        checks["replica"]["status"] = "degraded"
    failing = [name for name, r in checks.items() if r["status"] not in ("ok", "degraded") and name not in NON_CRITICAL]
    if failing:
        body = {
            "status": "fail",
            "checks": checks,
            "error": {"code": "not_ready", "message": f"failing: {', '.join(failing)}"},
        }
        return jsonify(body), 503
    return jsonify(status="ok", checks=checks)
