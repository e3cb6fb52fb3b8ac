"""The Redis circuit breaker, shared by two processes' worth of Redis clients."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from app.delivery.circuit import CircuitBreaker

COOLDOWN = 0.4


@pytest.fixture
def pair(delivery_redis_url, redis_prefix):
    """Two breakers on two separate Redis connections, as two workers would have."""

    def make(cooldown: float = COOLDOWN) -> CircuitBreaker:
        return CircuitBreaker(
            redis.Redis.from_url(delivery_redis_url),
            name="telnyx",
            threshold=5,
            window=60,
            cooldown=cooldown,
            key_prefix=redis_prefix,
        )

    return make, make(), make()


def test_closed_until_threshold_failures_from_any_worker(pair):
    _, a, b = pair
    for breaker in (a, b, a, b):
        breaker.record_failure()
    assert a.state()["state"] == "closed" and a.state()["failures"] == 4
    assert b.allow()
    b.record_failure()
    assert a.state()["state"] == "open"
    assert not a.allow() and not b.allow()
    assert 0 < b.state()["retry_in"] <= COOLDOWN


def test_failures_outside_the_window_do_not_count(delivery_redis_url, redis_prefix):
    breaker = CircuitBreaker(
        redis.Redis.from_url(delivery_redis_url), threshold=3, window=0.3, cooldown=1, key_prefix=redis_prefix
    )
    breaker.record_failure()
    breaker.record_failure()
    time.sleep(0.35)
    breaker.record_failure()
    assert breaker.state() == {"state": "closed", "failures": 1, "retry_in": 0.0, "probe_in_flight": False}


def open_and_cool(a: CircuitBreaker) -> None:
    for _ in range(5):
        a.record_failure()
    assert a.state()["state"] == "open"
    time.sleep(COOLDOWN + 0.1)
    assert a.state()["state"] == "half_open"


def test_half_open_lets_exactly_one_probe_through(pair):
    _, a, b = pair
    open_and_cool(a)
    with ThreadPoolExecutor(16) as pool:
        granted = list(pool.map(lambda i: (a if i % 2 else b).allow(), range(40)))
    assert granted.count(True) == 1
    assert a.state()["probe_in_flight"]


def test_probe_success_closes(pair):
    _, a, b = pair
    open_and_cool(a)
    assert b.allow()
    b.record_success()
    assert a.state() == {"state": "closed", "failures": 0, "retry_in": 0.0, "probe_in_flight": False}
    assert a.allow() and b.allow()


def test_probe_failure_reopens_for_another_cooldown(pair):
    _, a, b = pair
    open_and_cool(a)
    assert a.allow()
    a.record_failure()
    assert b.state()["state"] == "open" and not b.allow()
    time.sleep(COOLDOWN + 0.1)
    assert b.allow()  # a new probe after the second cooldown


def test_straggler_results_while_open_change_nothing(pair):
    make = pair[0]
    a, b = make(cooldown=30), make(cooldown=30)  # long enough to stay open however slow the machine
    for _ in range(5):
        a.record_failure()
    retry_in = a.state()["retry_in"]
    b.record_success()
    b.record_failure()
    state = a.state()
    assert state["state"] == "open" and state["retry_in"] <= retry_in


def test_a_dead_probe_does_not_block_forever(delivery_redis_url, redis_prefix):
    breaker = CircuitBreaker(
        redis.Redis.from_url(delivery_redis_url), threshold=1, cooldown=0.2, probe_timeout=0.2, key_prefix=redis_prefix
    )
    breaker.record_failure()
    time.sleep(0.25)
    assert breaker.allow()  # the probe's worker "dies" here
    assert not breaker.allow()
    time.sleep(0.25)
    assert breaker.allow()


def test_reset_closes(pair):
    _, a, b = pair
    for _ in range(5):
        a.record_failure()
    b.reset()
    assert a.allow()
