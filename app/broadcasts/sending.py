"""Sending internals of a broadcast batch: the thread pool, the result collector and write-back.

Send threads have no app context: they only see plain copies in BatchContext and hand their
Outcomes to a collector that the job's own thread writes back in bulk statements. A claimed row
is never put back to `queued` once its request may have reached the provider.
"""

from __future__ import annotations

import logging
import os
import queue as queue_mod
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from flask import current_app

from app import merge
from app.broadcasts.tracked_links import personalise
from app.dead_letters import add_dead_letter
from app.delivery import OptedOut, PermanentError, ProviderError, RateLimited, TransientError, make_provider
from app.delivery.circuit import CircuitBreaker
from app.delivery.engine import Outcome, write_outcomes
from app.delivery.guards import rate_limiter
from app.delivery.retry import retry_delay, should_retry
from app.extensions import db
from app.models import Church
from app.security.masking import mask_phone

log = logging.getLogger(__name__)
# One INFO line per HTTP request would drown the worker's own logs at hundreds per second.
logging.getLogger("httpx").setLevel(logging.WARNING)

THREADS = 16
FLUSH_EVERY = 100  # results written per statement at most...
FLUSH_SECONDS = 0.5  # ...or this often, so status webhooks find their provider ids quickly
MAX_RATE_LIMIT_WAITS = 5
# Claimed-but-unsent rows per send thread: enough to keep the threads busy, few enough that a
# worker killed mid-batch strands only a handful of claims.
IN_FLIGHT_PER_THREAD = 2


def _threads() -> int:
    return int(current_app.config.get("SEND_CONCURRENCY") or os.environ.get("SEND_CONCURRENCY") or THREADS)


@dataclass
class Claimed:
    id: int
    member_id: int | None
    to: str
    first_name: str | None
    last_name: str | None
    opted_out: bool
    # The member's custom field values as merge text (key -> text); unset fields are absent.
    custom: dict[str, str] = field(default_factory=dict)
    codes: dict[int, str] = field(default_factory=dict)  # tracked-link codes by link position


@dataclass
class BatchContext:
    broadcast_id: int
    church: Church
    body: str
    media_urls: list[str]
    from_number: str
    number_type: str
    # Plain copies: send threads have no app context, so they must never touch ORM objects.
    church_id: int = 0
    church_name: str = ""
    segments: int = 1
    # The church's custom field keys: merge fields a member without a value renders as the fallback.
    custom_keys: tuple[str, ...] = ()
    paused: threading.Event = field(default_factory=threading.Event)
    # Tracked links: (start, end, position) in the body, and where /l/<code> is served.
    link_places: list[tuple[int, int, int]] = field(default_factory=list)
    link_base: str = ""


def send_rows(ctx: BatchContext, claim: Callable[[int], list[Claimed]], limit: int, circuit: CircuitBreaker) -> str:
    """Claim up to `limit` rows and send them through the pool; write results in bulk statements.

    `claim(n)` takes (and commits) up to n queued rows. Rows are claimed only as the pool has
    room for them (at most IN_FLIGHT_PER_THREAD per thread outstanding), so a worker killed
    mid-batch leaves only the few claims it was sending: they are reaped to `unknown`, while
    everything it had not reached stays `queued` for the next job.
    """
    collector = _Collector(ctx)
    provider = make_provider(current_app.config)
    limiter = rate_limiter()
    threads = _threads()
    window = IN_FLIGHT_PER_THREAD * threads
    claimed = 0

    def hand_over(rows: list[Claimed], *, probe: bool = False) -> None:
        for row in rows:
            if row.opted_out:  # opted out after the broadcast was created
                collector.put(Outcome(row.id, "skipped", error_code="opted_out"))
            elif probe:
                # This worker holds the single half-open probe: one message, alone, decides.
                collector.put(_send_one(ctx, provider, limiter, circuit, row, probe=True))
            else:
                pool.submit(_safe_send, ctx, provider, limiter, circuit, row, collector)

    try:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="send") as pool:
            while claimed < limit and not ctx.paused.is_set():
                state = circuit.state()["state"]
                if state == "open" or (state == "half_open" and not circuit.allow()):
                    ctx.paused.set()
                    break
                if state == "half_open":
                    rows = claim(1)
                    claimed += len(rows)
                    hand_over(rows, probe=True)
                    if not rows:
                        break
                    continue
                collector.flush()
                room = min(window - (claimed - collector.collected), limit - claimed)
                # Refill a thread's worth at a time: one claim statement per row would cost more
                # than the sends themselves.
                if room < min(threads, limit - claimed):
                    collector.wait_one(FLUSH_SECONDS)
                    continue
                take = limiter.acquire_batch(ctx.from_number, ctx.number_type, room, timeout=5)
                if not take:
                    continue
                rows = claim(take)
                claimed += len(rows)
                hand_over(rows)
                if len(rows) < take:  # nothing left in the queue
                    break
            collector.wait_for(claimed)
    finally:
        provider.close()
        collector.flush(force=True)
    summary = ", ".join(f"{k}={v}" for k, v in sorted(collector.totals.items()))
    log.info("batch done", extra={"broadcast_id": ctx.broadcast_id, "summary": summary})
    return summary


class _Collector:
    """Outcomes from the send threads, written by the job's own thread in bulk statements."""

    def __init__(self, ctx: BatchContext) -> None:
        self.ctx = ctx
        self.results: queue_mod.SimpleQueue[Outcome] = queue_mod.SimpleQueue()
        self.buffer: list[Outcome] = []
        self.collected = 0
        self.totals: dict[str, int] = {}
        self.last_flush = time.monotonic()

    def put(self, outcome: Outcome) -> None:
        self.results.put(outcome)

    def _pull(self, timeout: float | None = None) -> None:
        try:
            item = self.results.get(timeout=timeout) if timeout else self.results.get_nowait()
        except queue_mod.Empty:
            return
        self.buffer.append(item)
        self.collected += 1
        while True:
            try:
                self.buffer.append(self.results.get_nowait())
            except queue_mod.Empty:
                return
            self.collected += 1

    def flush(self, force: bool = False) -> None:
        self._pull()
        due = len(self.buffer) >= FLUSH_EVERY or time.monotonic() - self.last_flush >= FLUSH_SECONDS
        if self.buffer and (force or due):
            _write(self.ctx, self.buffer)
            for o in self.buffer:
                self.totals[o.status] = self.totals.get(o.status, 0) + 1
            self.buffer = []
            self.last_flush = time.monotonic()

    def wait_one(self, timeout: float) -> None:
        """Wait up to `timeout` for an outcome (the pool is full), writing when due."""
        self._pull(timeout=timeout)
        self.flush()

    def wait_for(self, expected: int) -> None:
        while self.collected < expected:
            self._pull(timeout=FLUSH_SECONDS)
            self.flush()
        self.flush(force=True)


def _write(ctx: BatchContext, outcomes: list[Outcome]) -> None:
    write_outcomes(outcomes, from_number=ctx.from_number)
    dead = [o for o in outcomes if o.dead]
    if dead:
        add_dead_letter(
            "broadcast_recipients",
            {
                "broadcast_id": ctx.broadcast_id,
                "recipient_ids": [o.id for o in dead],
                "errors": {str(o.id): o.error_code for o in dead},
            },
            "; ".join(sorted({f"{o.error_code}: {o.error_detail or ''}".strip() for o in dead}))[:1000],
            church_id=ctx.church_id,
            attempts=3,
        )
    db.session.commit()


def _safe_send(ctx, provider, limiter, circuit, row: Claimed, collector: _Collector) -> None:
    try:
        collector.put(_send_one(ctx, provider, limiter, circuit, row))
    except _NotSent as exc:
        log.exception("could not prepare a message", extra={"recipient_id": row.id})
        collector.put(Outcome(row.id, "failed", error_code="internal", error_detail=str(exc.__cause__), dead=True))
    except Exception as exc:  # noqa: BLE001 - a bug must not leave the row unaccounted for
        # Raised around the HTTP call: the provider may have the message, so never resend it.
        log.exception("send crashed", extra={"recipient_id": row.id})
        collector.put(Outcome(row.id, "unknown", error_code="internal", error_detail=type(exc).__name__))


class _NotSent(Exception):
    """Failed before any request was made (e.g. rendering the body)."""


def _send_one(ctx, provider, limiter, circuit, row: Claimed, *, probe: bool = False) -> Outcome:
    """One recipient: send with retries; the outcome says what the provider made of it."""
    try:
        body = merge.render_values(
            personalise(ctx.body, ctx.link_places, row.codes, ctx.link_base),
            {**row.custom, "first_name": row.first_name, "last_name": row.last_name, "church_name": ctx.church_name},
            ctx.custom_keys,
        )
    except Exception as exc:
        raise _NotSent("render") from exc
    attempt = 0
    waits = 0
    while True:
        if ctx.paused.is_set() and not probe:
            # The circuit opened (or the provider keeps throttling): nothing of this row went out.
            return Outcome(row.id, "queued")
        attempt += 1
        try:
            result = provider.send(ctx.from_number, row.to, body, ctx.media_urls or None)
        except RateLimited as exc:
            # Not the recipient's fault and not an outage: wait as told, without using a try.
            attempt -= 1
            waits += 1
            if waits > MAX_RATE_LIMIT_WAITS:
                ctx.paused.set()
                return Outcome(row.id, "queued")
            time.sleep(exc.retry_after + random.uniform(0, 0.25))
            continue
        except OptedOut as exc:
            if probe:
                circuit.record_success()
            return Outcome(
                row.id, "failed", error_code="40300", error_detail=exc.title, opted_out_member_id=row.member_id
            )
        except TransientError as exc:
            circuit.record_failure()
            if exc.maybe_sent:
                # The provider may have it: never send again; a status webhook may settle it.
                return Outcome(row.id, "unknown", error_code=exc.code or "timeout", error_detail=str(exc))
            if probe or circuit.state()["state"] != "closed":
                ctx.paused.set()
                return Outcome(row.id, "queued")
            if should_retry(exc, attempt):
                time.sleep(retry_delay(exc, attempt))
                continue
            return Outcome(
                row.id, "failed", error_code=exc.code or str(exc.http_status), error_detail=str(exc), dead=True
            )
        except PermanentError as exc:
            if probe:
                circuit.record_success()
            code = exc.code or str(exc.http_status or "rejected")
            return Outcome(row.id, "failed", error_code=code, error_detail=str(exc), dead=True)
        except ProviderError as exc:
            return Outcome(row.id, "failed", error_code=exc.code, error_detail=str(exc), dead=True)
        if probe:
            circuit.record_success()
        log.debug("sent to %s", mask_phone(row.to))
        return Outcome(
            row.id,
            "sent",
            provider_message_id=result.provider_message_id,
            segments=result.parts,
            cost=result.cost,
        )
