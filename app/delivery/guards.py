"""The guards every send passes: the provider circuit and the per-sending-number rate limit.

Both live in Redis so every worker (broadcast batches and inbox replies alike) sees the same
state; these factories build them from the app's Redis and config in one place.
"""

from __future__ import annotations

import os

from flask import current_app

from app.delivery.circuit import CircuitBreaker
from app.delivery.ratelimit import NumberRateLimiter
from app.extensions import rds


def circuit_breaker() -> CircuitBreaker:
    """The provider circuit shared by every worker (5 failures in 60 s open it for 30 s)."""
    return CircuitBreaker(rds.client, "telnyx", threshold=5, window=60, cooldown=30)


def _rates() -> dict[str, int]:
    raw = current_app.config.get("SMS_RATES") or os.environ.get("SMS_RATES", "")
    if isinstance(raw, dict):
        return {k: int(v) for k, v in raw.items()}
    rates: dict[str, int] = {}
    for item in filter(None, (p.strip() for p in str(raw).split(","))):
        name, _, value = item.partition("=")
        if value.strip().isdigit():
            rates[name.strip()] = int(value)
    return rates


def rate_limiter() -> NumberRateLimiter:
    """Per-sending-number limiter on the app's Redis; SMS_RATES overrides per number type."""
    return NumberRateLimiter(current_app.config["REDIS_URL"], _rates())
