"""Retry policy: capped exponential backoff with full jitter, never retrying what may have gone out."""

from __future__ import annotations

import random

import pytest

from app.delivery.base import OptedOut, PermanentError, RateLimited, TransientError
from app.delivery.retry import MAX_TRIES, backoff, retry_delay, should_retry


@pytest.mark.parametrize(("attempt", "cap"), [(1, 1), (2, 2), (3, 4), (6, 32), (7, 32), (30, 32)])
def test_backoff_stays_within_the_capped_exponential(attempt, cap):
    rng = random.Random(7)
    delays = [backoff(attempt, rng=rng) for _ in range(500)]
    assert all(0 <= d <= cap for d in delays)
    # Full jitter: spread over the whole range, not bunched at the top.
    assert min(delays) < cap * 0.1 and max(delays) > cap * 0.9


def test_transient_and_rate_limited_errors_retry_until_max_tries():
    assert MAX_TRIES == 3
    assert should_retry(TransientError(http_status=503), 1)
    assert should_retry(RateLimited(2.0), 2)
    assert not should_retry(TransientError(http_status=503), MAX_TRIES)


def test_permanent_errors_and_opt_outs_never_retry():
    assert not should_retry(PermanentError("40310"), 1)
    assert not should_retry(OptedOut("40300"), 1)
    assert not should_retry(ValueError("bug"), 1)


def test_a_request_that_may_have_been_sent_is_not_retried():
    assert not should_retry(TransientError("timeout", maybe_sent=True), 1)


def test_rate_limit_waits_at_least_the_advertised_reset():
    rng = random.Random(1)
    assert all(retry_delay(RateLimited(5.0), 1, rng=rng) >= 5.0 for _ in range(50))
