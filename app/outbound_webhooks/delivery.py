"""Sending one delivery: sign it (Standard Webhooks), POST it, record what the endpoint answered.

A delivery is claimed by moving its `next_attempt_at` past the time a send can take (the lease),
in its own short transaction; the HTTP call runs outside any transaction; the outcome is written
after it. A worker that dies mid-send leaves a row whose lease runs out and the sweep sends it
again, with the same `webhook-id`: receivers dedupe on it, as Standard Webhooks asks them to.

Retries back off exponentially (RETRY_DELAYS, the first within a minute) for 24 hours from the
event; then the delivery is `failed`, its endpoint `failing`, and the church's owners are mailed.
The next success makes the endpoint `enabled` again.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from flask import current_app
from rq import Queue
from sqlalchemy import select, text
from standardwebhooks.webhooks import Webhook

from app import mail
from app.extensions import db, rds
from app.models import User
from app.models.webhooks import EXCERPT_MAX, WebhookEndpoint
from app.outbound_webhooks import secrets
from app.outbound_webhooks.events import DELIVER_JOB, QUEUE
from app.outbound_webhooks.urls import UrlRefused, resolve

log = logging.getLogger(__name__)

TIMEOUT = 10.0  # seconds, for each of connect, write and read
LEASE = timedelta(seconds=90)  # longer than the job may run (RQ stops it at 60 s)
GIVE_UP_AFTER = timedelta(hours=24)
# Seconds before attempt n+1 after attempt n fails; the last repeats until 24 hours have passed.
RETRY_DELAYS = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 21600)
SWEEP_BATCH = 1000
SWEEP_GRACE = 15  # seconds overdue before the sweep steps in for a job that should have run
USER_AGENT = "Koinonia-Webhooks/1.0"

_CLAIM = text(
    """
    UPDATE webhook_deliveries d
    SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => :lease), last_attempt_at = now()
    FROM webhook_endpoints e
    WHERE d.id = :id AND d.status = 'pending' AND d.next_attempt_at <= now()
      AND e.church_id = d.church_id AND e.id = d.endpoint_id AND e.state <> 'disabled'
    RETURNING d.id, d.church_id, d.endpoint_id, d.event_id, d.payload, d.created_at, d.attempts,
              e.url, e.secret_sealed
    """
)


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the HTTP status, None when no answer came
    duration_ms: int
    excerpt: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def body_of(payload: dict[str, Any]) -> bytes:
    """The body as sent: `{"type", "timestamp", "data"}` in that order, compact UTF-8 JSON."""
    ordered = {"type": payload["type"], "timestamp": payload["timestamp"], "data": payload["data"]}
    return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(secret: str, event_id: str, body: bytes, now: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers for `body`, signed with the endpoint's `whsec_` secret."""
    now = now or datetime.now(UTC)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, now, body),
    }


def post(url: str, headers: dict[str, str], body: bytes) -> Outcome:
    """POST to a URL checked again here, connecting only to the addresses the check vetted."""
    started = time.monotonic()
    try:
        target = resolve(url, current_app.config["KOINONIA_ENV"])
    except UrlRefused as err:
        return Outcome(None, 0, None, str(err)[:200])
    sent = {
        **headers,
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    error = "No address of the host answered."
    with httpx.Client(timeout=httpx.Timeout(TIMEOUT), follow_redirects=False, trust_env=False) as client:
        for address in target.addresses:
            try:
                request = client.build_request(
                    "POST", target.url_for(address), content=body, headers=sent, extensions=extensions
                )
                response = client.send(request, stream=True)
                try:
                    excerpt = _excerpt(response)
                finally:
                    response.close()
                return Outcome(response.status_code, _ms(started), excerpt, None)
            except httpx.ConnectError as err:
                error = f"Could not connect: {err}"[:200]
            except httpx.TimeoutException:
                return Outcome(None, _ms(started), None, f"No answer within {TIMEOUT:g} seconds.")
            except httpx.HTTPError as err:
                return Outcome(None, _ms(started), None, f"{type(err).__name__}: {err}"[:200])
    return Outcome(None, _ms(started), None, error)


def _excerpt(response: httpx.Response) -> str:
    """At most EXCERPT_MAX bytes of the answer: never more is read."""
    kept = b""
    for chunk in response.iter_raw():
        kept += chunk
        if len(kept) >= EXCERPT_MAX:
            break
    return kept[:EXCERPT_MAX].decode("utf-8", errors="replace")


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def deliver(delivery_id: int) -> str:
    """RQ job: send one delivery if it is due; returns what happened (for the logs and tests)."""
    row = db.session.execute(_CLAIM, {"id": delivery_id, "lease": LEASE.total_seconds()}).one_or_none()
    db.session.commit()
    if row is None:
        return "not due"
    secret = secrets.open_secret(row.secret_sealed)
    if secret is None:
        outcome = Outcome(None, 0, None, "The endpoint's secret cannot be read (SECRET_KEY changed).")
    else:
        body = body_of(row.payload)
        outcome = post(row.url, signed_headers(secret, row.event_id, body), body)
    return record(row, outcome)


def record(row: Any, outcome: Outcome) -> str:
    """Write an attempt's outcome; schedule the retry, or give up once 24 hours have passed."""
    now = datetime.now(UTC)
    fields = {
        "id": row.id,
        "status_code": outcome.status,
        "duration": outcome.duration_ms,
        "excerpt": outcome.excerpt,
        "error": outcome.error,
    }
    endpoint = db.session.get(WebhookEndpoint, row.endpoint_id)
    if outcome.ok:
        _write(fields, "delivered", None)
        if endpoint is not None and endpoint.state == "failing":
            endpoint.state, endpoint.failing_since = "enabled", None
        db.session.commit()
        return "delivered"
    deadline = row.created_at + GIVE_UP_AFTER
    if now >= deadline:
        _write(fields, "failed", None)
        if endpoint is not None and endpoint.state == "enabled":
            endpoint.state, endpoint.failing_since = "failing", now
            _tell_owners(endpoint)
        db.session.commit()
        log.warning("webhook delivery gave up", extra={"church_id": row.church_id, "endpoint_id": row.endpoint_id})
        return "failed"
    delay = RETRY_DELAYS[min(row.attempts, len(RETRY_DELAYS)) - 1]
    due = min(now + timedelta(seconds=delay), deadline)
    _write(fields, "pending", due)
    db.session.commit()
    try:
        rds.queue(QUEUE).enqueue_at(due, DELIVER_JOB, row.id, job_timeout=60, result_ttl=0, failure_ttl=86400)
    except Exception:  # the sweep sends it when it is due
        log.warning("could not schedule a webhook retry", exc_info=True)
    return "retrying"


def _write(fields: dict[str, Any], status: str, due: datetime | None) -> None:
    db.session.execute(
        text(
            "UPDATE webhook_deliveries SET status = :status, next_attempt_at = :due, response_status = :status_code, "
            "duration_ms = :duration, response_excerpt = :excerpt, error = :error, "
            "delivered_at = CASE WHEN :delivered THEN now() ELSE delivered_at END WHERE id = :id"
        ),
        {**fields, "status": status, "due": due, "delivered": status == "delivered"},
    )


def _tell_owners(endpoint: WebhookEndpoint) -> None:
    """Mail the church's owners that an endpoint has stopped taking its events."""
    owners = db.session.scalars(
        select(User).where(User.church_id == endpoint.church_id, User.role == "owner", User.active.is_(True))
    )
    for owner in owners:
        try:
            mail.send(
                owner.email,
                "webhook_failing",
                church_id=endpoint.church_id,
                name=owner.name or owner.email,
                endpoint_url=endpoint.url,
            )
        except ValueError:
            log.warning("owner without a mail address; not told of a failing webhook endpoint")


def sweep() -> int:
    """Periodic job: queue every delivery that is due and has no job that ran for it (Redis lost it)."""
    ids = list(
        db.session.scalars(
            text(
                "SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e "
                "ON e.church_id = d.church_id AND e.id = d.endpoint_id "
                "WHERE d.status = 'pending' AND d.next_attempt_at <= now() - make_interval(secs => :grace) "
                "AND e.state <> 'disabled' ORDER BY d.next_attempt_at LIMIT :limit"
            ),
            {"grace": SWEEP_GRACE, "limit": SWEEP_BATCH},
        )
    )
    db.session.rollback()
    return enqueue_now(ids)


def enqueue_now(ids: list[int]) -> int:
    """Queue sends in one round trip, skipping those queued in the last minute."""
    client = rds.client
    with client.pipeline() as pipe:
        for delivery_id in ids:
            pipe.set(f"koinonia:webhook-delivery:{delivery_id}", "1", nx=True, ex=60)
        fresh = [i for i, took in zip(ids, pipe.execute(), strict=True) if took]
    if fresh:
        queue = rds.queue(QUEUE)
        queue.enqueue_many(
            [Queue.prepare_data(DELIVER_JOB, (i,), timeout=60, result_ttl=0, failure_ttl=86400) for i in fresh]
        )
    return len(fresh)
