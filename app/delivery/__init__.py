"""SMS delivery: provider clients, segment counting, rate limits, circuit breaker, retries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.delivery.base import (
    AvailableNumber,
    NumberOrder,
    OptedOut,
    PermanentError,
    Provider,
    ProviderError,
    RateLimited,
    SendResult,
    TransientError,
)
from app.delivery.telnyx import DEFAULT_API_BASE, TelnyxClient

__all__ = [
    "AvailableNumber",
    "NumberOrder",
    "OptedOut",
    "PermanentError",
    "Provider",
    "ProviderError",
    "RateLimited",
    "SendResult",
    "TelnyxClient",
    "TransientError",
    "make_provider",
]


def make_provider(config: Mapping[str, Any]) -> Provider:
    """Build the provider client from app config (TELNYX_API_BASE, _API_KEY, _MESSAGING_PROFILE_ID).

    SMS_PROVIDER=simulator only changes TELNYX_API_BASE: the simulator speaks the same API,
    so there is deliberately no separate code path to drift from the real one.
    """
    api_key = config.get("TELNYX_API_KEY")
    if not api_key:
        raise ValueError("TELNYX_API_KEY is not set")
    return TelnyxClient(
        api_base=config.get("TELNYX_API_BASE") or DEFAULT_API_BASE,
        api_key=api_key,
        messaging_profile_id=config.get("TELNYX_MESSAGING_PROFILE_ID") or None,
        timeout=float(config.get("TELNYX_TIMEOUT") or 10.0),
        max_connections=int(config.get("TELNYX_MAX_CONNECTIONS") or 64),
    )
