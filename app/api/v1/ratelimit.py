"""Per-key rate limit on /api/v1: 100 requests a minute, at most 20 in any 10 seconds.

Flask-Limiter counts in Redis, keyed on the key's digest (no database read to find the bucket:
a flood of requests costs Redis only); requests without a key count against their address.
Flask-Limiter sends X-RateLimit-* and Retry-After; `ietf_headers` adds `RateLimit` and
`RateLimit-Policy` as the IETF draft (draft-ietf-httpapi-ratelimit-headers) writes them.
"""

from __future__ import annotations

import time

from flask import Response, request
from flask_limiter.util import get_remote_address

from app.api.v1.keys import KEY_PREFIX, MAX_TOKEN, digest
from app.extensions import limiter

PER_MINUTE = 100
BURST = 20
BURST_SECONDS = 10
LIMITS = f"{PER_MINUTE} per minute;{BURST} per {BURST_SECONDS} seconds"
POLICY = f'"burst";q={BURST};w={BURST_SECONDS}, "minute";q={PER_MINUTE};w=60'


def key_func() -> str:
    header = request.headers.get("Authorization", "")
    token = header.partition(" ")[2].strip()
    if token.startswith(KEY_PREFIX) and len(token) <= MAX_TOKEN:
        return "apikey:" + digest(token)[:32]
    return "addr:" + get_remote_address()


def apply(blueprint) -> None:
    limiter.limit(LIMITS, key_func=key_func)(blueprint)


def ietf_headers(response: Response) -> Response:
    """`RateLimit` names the limit closest to running out, with what is left and when it resets."""
    limits = limiter.current_limits
    if not limits:
        return response
    tightest = min(limits, key=lambda lim: (lim.remaining, lim.reset_at))
    name = "burst" if tightest.limit.get_expiry() == BURST_SECONDS else "minute"
    reset = max(0, int(tightest.reset_at - time.time()))
    response.headers["RateLimit-Policy"] = POLICY
    response.headers["RateLimit"] = f'"{name}";r={max(0, tightest.remaining)};t={reset}'
    return response
