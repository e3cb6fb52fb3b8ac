"""Redis is not the record: it loses everything (FLUSHALL) mid-import and with work queued.

A member import is flushed while it runs, then an import and a staff reply are flushed while
their jobs wait (the workers paused, so the jobs are certainly still in Redis). The sweeps
re-create the work from the database: every import finishes with all its rows, the reply is
sent, and nobody is texted twice. Each case prints how long the work took to resume.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from tests.faults.stack import Stack, wait_until

pytestmark = pytest.mark.faults


def _import_state(stack: Stack, import_id: int) -> tuple[str, int]:
    [(status, imported)] = stack.sql("SELECT status, imported FROM member_imports WHERE id = %s", (import_id,))
    return status, imported


def _pause_workers(stack: Stack, sig: int) -> None:
    """SIGSTOP / SIGCONT the RQ worker processes (not their horses): nothing is taken off a queue."""
    for proc in stack.workers():
        os.kill(proc.popen.pid, sig)


def test_an_import_survives_redis_losing_its_data_while_it_runs(healthy: Stack):
    stack = healthy
    rows = 40_000
    created = stack.ctl("import", str(rows), "2000000")
    import_id = created["id"]
    wait_until(lambda: _import_state(stack, import_id)[0] == "running", 60, "the import to start", interval=0.05)
    stack.redis().flushall()
    flushed = time.monotonic()
    state_at_flush = _import_state(stack, import_id)[0]
    wait_until(lambda: _import_state(stack, import_id)[0] in ("done", "failed"), 180, "the import to finish")
    status, imported = _import_state(stack, import_id)
    assert (status, imported) == ("done", rows)
    facts = {"rows": rows, "state_at_flush": state_at_flush, "seconds_to_done": round(time.monotonic() - flushed, 1)}
    print("redis flushed mid-import:", json.dumps(facts))


def test_queued_import_and_reply_are_recreated_after_redis_loses_their_jobs(healthy: Stack):
    stack = healthy
    _pause_workers(stack, signal.SIGSTOP)
    try:
        imp = stack.ctl("import", "200", "3000000")
        reply = stack.ctl("reply")
        r = stack.redis()
        # Both jobs are in Redis (a paused worker's pending BLPOP may already have popped their
        # ids: it then finds no job to run once it wakes, which is just as lost).
        [(job_id,)] = stack.sql("SELECT job_id FROM member_imports WHERE id = %s", (imp["id"],))
        assert r.exists(f"rq:job:{job_id}")
        functions = {r.hget(key, "description") for key in r.scan_iter("rq:job:*")}
        assert any(b"send_message" in (f or b"") for f in functions), functions
        r.flushall()
        flushed = time.monotonic()
        # The reply sweep leaves a reply alone for REQUEUE_LOST_JOBS_AFTER_SECONDS (5 s here).
        time.sleep(6)
    finally:
        _pause_workers(stack, signal.SIGCONT)

    def reply_state() -> tuple[str, str | None]:
        [(status, provider_id)] = stack.sql(
            "SELECT status, provider_message_id FROM conversation_messages WHERE id = %s", (reply["id"],)
        )
        return status, provider_id

    wait_until(lambda: _import_state(stack, imp["id"])[0] == "done", 120, "the lost import to be run")
    import_done = time.monotonic() - flushed
    wait_until(lambda: reply_state()[1] is not None, 120, "the lost reply to be sent")
    reply_sent = time.monotonic() - flushed
    assert _import_state(stack, imp["id"]) == ("done", 200)
    # Nobody texted twice: the provider saw the reply once.
    stats = stack.sim("GET", "stats")
    assert stats["duplicates"] == {}
    assert stats["attempts_by_to"].get(reply["to"]) == 1, stats["attempts_by_to"].get(reply["to"])
    facts = {
        "paused_after_flush_seconds": 6,
        "seconds_to_import_done": round(import_done, 1),
        "seconds_to_reply_sent": round(reply_sent, 1),
    }
    print("redis flushed with work queued:", json.dumps(facts))
