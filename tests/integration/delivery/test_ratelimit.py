"""Per-number send rate shared by workers through Redis."""

from __future__ import annotations

import time

import pytest

from app.delivery.ratelimit import NumberRateLimiter

NUMBER = "+13125550100"


@pytest.fixture
def limiters(delivery_redis_url, redis_prefix):
    """Two limiters, as two worker processes would each build."""
    return (
        NumberRateLimiter(delivery_redis_url, {"long_code": 5}, key_prefix=redis_prefix),
        NumberRateLimiter(delivery_redis_url, {"long_code": 5}, key_prefix=redis_prefix),
    )


def test_defaults_and_overrides(delivery_redis_url, redis_prefix):
    limiter = NumberRateLimiter(delivery_redis_url, {"long_code": 4}, key_prefix=redis_prefix)
    assert limiter.rate_for("long_code") == 4
    assert limiter.rate_for("toll_free") == 20
    assert limiter.rate_for("short_code") == 1000
    assert limiter.rate_for("mystery") == 4  # unknown types get the cautious long-code rate


def test_workers_share_one_budget_per_number(limiters):
    a, b = limiters
    assert all(a.try_acquire(NUMBER, "long_code") for _ in range(3))
    assert all(b.try_acquire(NUMBER, "long_code") for _ in range(2))
    assert not a.try_acquire(NUMBER, "long_code")
    assert not b.acquire(NUMBER, "long_code", block=False)
    assert a.try_acquire("+13125550200", "long_code")  # another number has its own budget
    assert 0 < a.wait_time(NUMBER, "long_code") <= 1.0


def test_blocking_acquire_waits_for_the_window_to_move(limiters):
    a, b = limiters
    assert a.acquire(NUMBER, "long_code", n=5)
    started = time.monotonic()
    assert b.acquire(NUMBER, "long_code", timeout=3)
    waited = time.monotonic() - started
    assert 0.8 < waited < 3  # generous ceiling: CI machines stall


def test_acquire_gives_up_at_timeout(limiters):
    a, _ = limiters
    a.acquire(NUMBER, "long_code", n=5)
    started = time.monotonic()
    assert not a.acquire(NUMBER, "long_code", timeout=0.2)
    assert time.monotonic() - started < 1.5


def test_more_than_a_second_at_once_is_refused(limiters):
    with pytest.raises(ValueError):
        limiters[0].acquire(NUMBER, "long_code", n=6)


def test_batch_takes_what_fits_and_holds_the_rate(limiters):
    a, b = limiters
    assert a.acquire_batch(NUMBER, "long_code", 3) == 3
    assert b.acquire_batch(NUMBER, "long_code", 10) == 2
    started = time.monotonic()
    sent = 0
    while sent < 10:
        sent += a.acquire_batch(NUMBER, "long_code", 10 - sent)
    # 15 sends at 5/s: the last 10 need two more windows.
    assert 1.7 < time.monotonic() - started < 4
    assert a.acquire_batch(NUMBER, "long_code", 1, timeout=0.05) == 0
