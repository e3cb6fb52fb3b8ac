"""A 20,000-recipient broadcast through the simulator while the stack is broken, fault after fault.

While it sends: SIGKILL a worker (and its work horse), restart Redis, empty Redis (FLUSHALL),
SIGTERM a worker (it finishes its batch and exits 0), restart PostgreSQL, then the provider
answers 500 for 10 s and hangs for 10 s. After each Redis loss the sweeps re-create the lost
batches from the database; the time to resume is printed.
Afterwards every recipient was texted at most once (the simulator's own ledger), every one is in
a final state, every failure has a dead letter, what the provider accepted is what the database
calls delivered, and the broadcast page shows the database's counts.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import threading
import time
from collections import Counter

import pytest

from app.broadcasts.services import BATCH_SIZE
from tests.faults.stack import Stack, wait_until

pytestmark = pytest.mark.faults

RECIPIENTS = 20_000
FINAL = {"delivered", "failed", "skipped", "unknown"}


def _counts(stack: Stack, broadcast_id: int) -> Counter:
    rows = stack.sql(
        "SELECT status, count(*) FROM broadcast_recipients WHERE broadcast_id = %s GROUP BY 1", (broadcast_id,)
    )
    return Counter(dict(rows))


def _page_counts(stack: Stack, broadcast_id: int) -> dict[str, int]:
    client = stack.login()
    try:
        page = client.get(f"/broadcasts/{broadcast_id}")
    finally:
        client.close()
    assert page.status_code == 200
    legend = re.search(r'<ul class="legend" id="status-counts">(.*?)</ul>', page.text, re.S)
    assert legend, "no status counts on the broadcast page"
    found = re.findall(r"</span>(\w+) <strong>(\d+)</strong>", legend.group(1))
    return {name.lower(): int(n) for name, n in found}


def test_broadcast_survives_worker_kill_restarts_and_provider_outages(healthy: Stack):
    stack = healthy
    group = stack.ctl("audience", str(RECIPIENTS))
    created = stack.ctl("broadcast", str(group["group_id"]))
    broadcast_id = created["id"]
    assert created["recipients"] == RECIPIENTS
    facts: dict[str, object] = {}
    started = time.monotonic()
    timeline: list[str] = []
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(5):
            with contextlib.suppress(Exception):  # the database may be down right now
                counts = _counts(stack, broadcast_id)
                timeline.append(f"{time.monotonic() - started:.0f}s {dict(sorted(counts.items()))}")

    threading.Thread(target=sample, daemon=True).start()

    def processed() -> int:
        return RECIPIENTS - _counts(stack, broadcast_id)["queued"]

    def reach(n: int, fault: str) -> None:
        # Each fault must land while recipients are still queued, or it tests nothing.
        wait_until(lambda: processed() >= n, 240, f"{n} recipients processed before {fault}", interval=0.5)
        assert _counts(stack, broadcast_id)["queued"] > 0, f"the broadcast finished before {fault}"
        facts[f"processed_before_{fault}"] = processed()
        facts[f"seconds_before_{fault}"] = round(time.monotonic() - started)

    # 1. SIGKILL a worker and the work horse it forked, mid-batch; its supervisor starts it again.
    reach(1000, "worker_kill")
    victim = stack.workers()[0]
    starts = victim.starts
    victim.kill_group(signal.SIGKILL)
    wait_until(lambda: victim.starts > starts and victim.alive(), 30, "the killed worker to be restarted")

    def resumed(fault: str, lost_at: float, processed_then: int) -> None:
        # Batches already running finish what they claimed (at most one batch per worker); more
        # than that processed means the sweeps queued the rest again from the database.
        target = processed_then + BATCH_SIZE * len(stack.workers()) + 100
        wait_until(lambda: processed() >= target, 180, f"sending to resume after {fault}", interval=0.2)
        facts[f"seconds_to_resume_after_{fault}"] = round(time.monotonic() - lost_at, 1)

    # 2. Redis restarts empty (no persistence): queued and scheduled jobs, locks, circuit are gone.
    reach(2000, "redis_restart")
    stack.stop_redis()
    time.sleep(3)
    stack.start_redis()
    resumed("redis_restart", time.monotonic(), processed())

    # 2b. Redis loses its data while running (FLUSHALL): the same, without a broken connection.
    reach(processed() + 200, "redis_flushall")
    flushed_at, processed_then = time.monotonic(), processed()
    stack.redis().flushall()
    resumed("redis_flushall", flushed_at, processed_then)

    # 2c. A worker is asked to stop (SIGTERM to its main process, as a deploy does): RQ's warm
    # shutdown lets the batch in hand finish, then it exits 0; its process manager starts it again.
    reach(processed() + 200, "worker_sigterm")
    leaver = stack.workers()[1]
    popen, starts = leaver.popen, leaver.starts
    asked = time.monotonic()
    popen.send_signal(signal.SIGTERM)
    assert popen.wait(timeout=60) == 0, leaver.tail()
    facts["seconds_to_stop_on_sigterm"] = round(time.monotonic() - asked, 1)
    wait_until(lambda: leaver.starts > starts and leaver.alive(), 30, "the stopped worker to be started again")

    # 3. PostgreSQL restarts: every open connection breaks, in the web tier and the workers.
    reach(processed() + 200, "postgres_restart")
    stack.stop_postgres()
    time.sleep(3)
    stack.start_postgres()

    # 4. The provider answers 500 to every request for 10 s.
    reach(processed() + 500, "provider_500s")
    stack.sim("POST", "faults", json={"kind": "server_error", "seconds": 10})
    time.sleep(10)

    # 5. The provider hangs on every request for 10 s (the client times out, the connection drops).
    reach(processed() + 500, "provider_timeouts")
    stack.sim("POST", "faults", json={"kind": "timeout", "seconds": 10, "delay": 10})
    time.sleep(10)

    def settled() -> bool:
        counts = _counts(stack, broadcast_id)
        return set(counts) <= FINAL and sum(counts.values()) == RECIPIENTS

    wait_until(settled, 300, "every recipient in a final state", interval=1)
    facts["seconds_to_final_states"] = round(time.monotonic() - started)
    sampling.set()
    print("fault broadcast timeline:\n  " + "\n  ".join(timeline))
    # Webhooks still in flight or waiting for a retry have nothing left to change; let them land.
    wait_until(lambda: stack.sim("GET", "health")["pending_webhooks"] == 0, 60, "the simulator's webhooks")
    wait_until(
        lambda: not stack.sql("SELECT 1 FROM webhook_events WHERE processed_at IS NULL LIMIT 1"),
        120,
        "every stored webhook processed",
        interval=1,
    )

    # Only the killed and the stopped worker needed their supervisor: the others rode out the restarts.
    assert stack.worker_restarts == 2

    # At most once, on the provider's side.
    stats = stack.sim("GET", "stats")
    assert stats["duplicates"] == {}
    accepted = set(stats["by_to"])

    # Final states, and the provider's truth: what it accepted is exactly what is delivered.
    rows = stack.sql(
        "SELECT id, to_e164, status, error_code FROM broadcast_recipients WHERE broadcast_id = %s", (broadcast_id,)
    )
    assert len(rows) == RECIPIENTS
    by_status = Counter(r[2] for r in rows)
    assert set(by_status) <= FINAL, by_status
    delivered = {r[1] for r in rows if r[2] == "delivered"}
    assert delivered == accepted, (len(delivered - accepted), len(accepted - delivered))

    # Every failure was kept as a dead letter an operator can replay.
    failed = {r[0] for r in rows if r[2] == "failed"}
    lettered: set[int] = set()
    for (payload,) in stack.sql("SELECT payload FROM dead_letters WHERE kind = 'broadcast_recipients'"):
        payload = payload if isinstance(payload, dict) else json.loads(payload)
        if payload.get("broadcast_id") == broadcast_id:
            lettered |= set(payload.get("recipient_ids") or [])
    assert failed <= lettered, f"{len(failed - lettered)} failed recipients without a dead letter"

    # The broadcast is finished, its counters are the rows' truth, and the page shows them.
    [(status, *counters)] = stack.sql(
        "SELECT status, sent_count, delivered_count, failed_count, skipped_count, unknown_count "
        "FROM broadcasts WHERE id = %s",
        (broadcast_id,),
    )
    assert status == "sent"
    truth = {s: by_status.get(s, 0) for s in ("sent", "delivered", "failed", "skipped", "unknown")}
    assert dict(zip(truth, counters, strict=True)) == truth
    page = _page_counts(stack, broadcast_id)
    assert page == {**{k: v for k, v in truth.items() if k != "unknown" or v}, "queued": 0}

    errors = Counter(r[3] for r in rows if r[2] in ("failed", "unknown"))
    facts.update(
        recipients=RECIPIENTS,
        statuses=dict(by_status),
        error_codes=dict(errors),
        provider_attempts=sum(stats["attempts_by_to"].values()),
        provider_accepted=stats["accepted"],
        provider_refused=stats["rejected"],
        dead_letters=dict(stack.sql("SELECT kind, count(*) FROM dead_letters GROUP BY 1")),
        worker_restarts=stack.worker_restarts,
        webhooks=stats["webhooks"],
    )
    print("fault broadcast:", json.dumps(facts, sort_keys=True))
