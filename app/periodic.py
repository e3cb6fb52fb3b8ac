"""Periodic jobs run by the workers: sweeps, reapers, schedule ticks.

Each entry names a function (dotted path), its interval in seconds and its queue. Every worker
process runs a ticker thread; before enqueuing an entry it takes a Redis key with SET NX EX
for the interval, so an entry runs once per interval however many workers there are.
Domains add their entries to PERIODIC.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from rq import Queue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    func: str  # dotted path of a job function taking no arguments
    every: int  # seconds
    queue: str = "low"
    timeout: int = 300


PERIODIC: list[Periodic] = [
    # e.g. Periodic("app.broadcasts.tasks.reap_stale_claims", every=60),
    # Recurring broadcasts: each due occurrence becomes one broadcast (idempotent per occurrence).
    Periodic("app.broadcasts.schedules.run_due_schedules", every=30),
    # Delivery engine: scheduled starts, lost claims, lost jobs, leftover webhook events.
    Periodic("app.broadcasts.tasks.start_due_broadcasts", every=15, queue="default"),
    Periodic("app.broadcasts.tasks.reap_stale_claims_job", every=60),
    Periodic("app.broadcasts.tasks.resume_stalled_broadcasts", every=60),
    Periodic("app.webhook_processor.sweep", every=5, queue="high", timeout=120),
    # Inbox replies left "sending" by a lost job or a worker killed mid-send.
    Periodic("app.inbox.tasks.sweep_replies", every=60),
    # One mail per person about the threads left unread past their chosen minutes.
    Periodic("app.notifications.unread_mail.sweep", every=60),
    # Member imports: fail those whose worker died, drop stale drafts, free old uploaded files.
    Periodic("app.people.imports.tasks.sweep_imports", every=600, queue="low"),
    # Member imports whose queued job Redis lost (flushed, restarted empty): queued again.
    Periodic("app.people.imports.tasks.requeue_lost_imports", every=60, queue="low"),
    # Provider webhooks: tomorrow's partitions made, expired days dropped whole.
    Periodic("app.partitions.maintain", every=3600, queue="low"),
    # Per-message detail past its retention (recipients of old broadcasts; inbox messages if set).
    Periodic("app.retention.prune", every=3600, queue="low", timeout=600),
    # Outbound webhooks due with no job to send them (a lost job, a Redis that lost its data).
    Periodic("app.outbound_webhooks.delivery.sweep", every=10, queue="default", timeout=120),
    # Planning Center: each connected church's hourly sync, and runs whose worker died resumed.
    Periodic("app.integrations.tasks.sweep", every=300, queue="low"),
    # Automations: enroll people whose trigger fired, run the steps that are due (each once).
    Periodic("app.automations.tasks.run_due_job", every=15, queue="default"),
    # Clicks on tracked links, queued in Redis by /l/<code>, added to their counters.
    Periodic("app.links.clicks.drain", every=10, queue="low", timeout=120),
    # One-time account links, a week after they expired.
    Periodic("app.accounts.tasks.purge_old_tokens", every=3600, queue="low"),
]


def tick(queues: dict[str, Queue], entries: list[Periodic] | None = None) -> list[str]:
    """Enqueue every entry whose interval has passed; return the names enqueued."""
    enqueued = []
    for entry in PERIODIC if entries is None else entries:
        queue = queues[entry.queue]
        # The lock lives slightly less than the interval so the next tick is not skipped.
        if queue.connection.set(f"koinonia:periodic:{entry.func}", "1", nx=True, ex=max(entry.every - 1, 1)):
            queue.enqueue(entry.func, job_timeout=entry.timeout, result_ttl=0, failure_ttl=86400)
            enqueued.append(entry.func)
    return enqueued


class Ticker(threading.Thread):
    """Calls tick() every second until stopped."""

    def __init__(self, queues: dict[str, Queue], interval: float = 1.0) -> None:
        super().__init__(name="koinonia-ticker", daemon=True)
        self.queues, self.interval = queues, interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            try:
                tick(self.queues)
            except Exception:  # a Redis blip must not kill the thread
                log.exception("periodic tick failed")

    def stop(self) -> None:
        self._stop_event.set()
