"""Retry policy for provider calls: capped exponential backoff with full jitter."""

from __future__ import annotations

import random

from app.delivery.base import ProviderError, RateLimited, TransientError

MAX_TRIES = 3
BASE_DELAY = 1.0
MAX_DELAY = 32.0

_rng = random.Random()


def backoff(attempt: int, *, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): uniform in [0, min(32, 2**(n-1))].

    Full jitter (rather than a fixed 1, 2, 4 s) spreads the retries of many workers that
    failed together, so they do not hit the provider again in lockstep.
    """
    cap = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempt - 1))
    return (rng or _rng).uniform(0.0, cap)


def should_retry(error: BaseException, attempt: int) -> bool:
    """True when `error` is worth another try and attempts remain.

    A TransientError with `maybe_sent` is not retried: the provider may already have the
    message, and texting a member twice is worse than reconciling from the status webhook.
    """
    if attempt >= MAX_TRIES or not isinstance(error, ProviderError) or not error.retryable:
        return False
    return not (isinstance(error, TransientError) and error.maybe_sent)


def retry_delay(error: BaseException, attempt: int, *, rng: random.Random | None = None) -> float:
    """Backoff for `attempt`, but never shorter than a 429's advertised reset."""
    delay = backoff(attempt, rng=rng)
    if isinstance(error, RateLimited):
        delay = max(delay, error.retry_after)
    return delay
