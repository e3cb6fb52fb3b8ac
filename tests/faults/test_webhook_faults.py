"""Webhooks against a web tier that loses a worker, and against a Redis that is down.

A burst of signed Telnyx events while one gunicorn worker is SIGKILLed: every event answered
2xx is processed exactly once (one inbox message, an unread count of one). With Redis down,
pages that do not need it still answer and webhooks are still stored, and processed once
Redis is back.
"""

from __future__ import annotations

import os
import re
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.faults.stack import Stack, wait_until
from tests.faults.webhooks import effects, inbound_events, post

pytestmark = pytest.mark.faults

BURST = 600


def test_burst_of_webhooks_while_a_web_worker_is_killed(healthy: Stack):
    stack = healthy
    events = inbound_events(BURST, "burst", 4_000_000)
    answered: dict[str, int | str] = {}
    done = threading.Semaphore(0)
    local = threading.local()

    def send(event: dict) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=stack.url, timeout=10)
        try:
            answered[event["data"]["id"]] = post(local.client, stack, event).status_code
        except httpx.HTTPError as exc:  # the killed worker's connections drop
            answered[event["data"]["id"]] = type(exc).__name__
            local.client.close()
            local.client = httpx.Client(base_url=stack.url, timeout=10)
        done.release()

    before = stack.web_worker_pids()
    assert len(before) == 2
    with ThreadPoolExecutor(max_workers=16) as pool:
        for event in events:
            pool.submit(send, event)
        for _ in range(BURST // 4):
            done.acquire()
        victim = before[0]  # one worker dies; the gunicorn master starts another
        os.kill(victim, signal.SIGKILL)
    acked = [e for e in events if answered.get(e["data"]["id"]) in (200, 201, 202, 204)]
    refused = len(events) - len(acked)
    wait_until(
        lambda: victim not in stack.web_worker_pids() and len(stack.web_worker_pids()) == 2, 60, "a new web worker"
    )

    # What Telnyx does with an event that got no 2xx: it sends it again.
    retry = httpx.Client(base_url=stack.url, timeout=10)
    for event in events:
        if event not in acked:
            assert post(retry, stack, event).status_code == 200
    retry.close()

    def all_processed() -> dict:
        found = effects(stack, events)
        return found if all(f[1] for f in found.values()) else {}

    found = wait_until(all_processed, 120, "every event processed", interval=1)
    for event_id, (stored, processed, error, messages, unread) in found.items():
        assert stored and processed and error is None, event_id
        assert messages == 1 and unread == 1, (event_id, messages, unread)
    print(f"webhook burst: {BURST} events, {len(acked)} answered 2xx, {refused} refused or dropped at the kill")


def test_redis_down_pages_answer_and_webhooks_are_stored_then_processed(healthy: Stack):
    stack = healthy
    signed_in = stack.login()
    events = inbound_events(40, "redis-down", 4_100_000)
    stack.stop_redis()
    try:
        anonymous = httpx.Client(base_url=stack.url, timeout=30)
        assert anonymous.get("/health").status_code == 200
        ready = anonymous.get("/health/ready")
        assert ready.status_code == 503 and ready.json()
        assert anonymous.get("/login").status_code == 200
        # Signing in needs its attempt counters: refused plainly (503), never unthrottled, never a 500.
        login_page = anonymous.get("/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page.text).group(1)
        refused = anonymous.post(
            "/login", data={"email": "admin@example.org", "password": "koinonia-demo", "csrf_token": token}
        )
        assert refused.status_code == 503 and "briefly unavailable" in refused.text
        for path in ("/", "/members", "/inbox", "/broadcasts", "/groups", "/settings"):
            assert signed_in.get(path).status_code == 200, path
        for event in events:
            answer = post(anonymous, stack, event)
            assert answer.status_code == 200 and answer.json() == {"status": "stored"}
        stored = effects(stack, events)
        assert all(f[0] for f in stored.values())
    finally:
        stack.start_redis()

    def all_processed() -> dict:
        found = effects(stack, events)
        return found if all(f[1] for f in found.values()) else {}

    found = wait_until(all_processed, 60, "the stored webhooks processed after Redis returned", interval=0.5)
    assert all(f[2] is None and f[3] == 1 and f[4] == 1 for f in found.values())
    assert httpx.get(f"{stack.url}/health/ready", timeout=10).status_code == 200
