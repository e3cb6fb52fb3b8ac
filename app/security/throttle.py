"""Fixed-window counters for public forms that mail someone: password resets and sign-ups.

Like app.security.login_throttle, every counter is charged before any work is done (one atomic
script: INCR, and an expiry on the first charge), so requests sent in parallel are counted as
they arrive; the caller refuses the request when any counter is over its limit. Keys that name
a person (an email address) are hashed, so the counters are no list of who asked.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from app.extensions import rds

PREFIX = "koinonia:throttle"

# KEYS: one counter per limit; ARGV: their windows. Returns [count, ttl] per key.
CHARGE = """
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, ARGV[i]) end
  out[#out + 1] = n
  out[#out + 1] = redis.call('TTL', key)
end
return out
"""


@dataclass(frozen=True)
class Limit:
    """At most `allowed` charges per `window` seconds for one value of `name`."""

    name: str
    allowed: int
    window: int


def hashed(value: str) -> str:
    """A counter key part for a value that names a person."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


def charge(scope: str, counted: list[tuple[Limit, str]]) -> int:
    """Charge one request against each (limit, key) pair; seconds to wait when any is over, else 0."""
    keys = [f"{PREFIX}:{scope}:{limit.name}:{key}" for limit, key in counted]
    windows = [limit.window for limit, _ in counted]
    counts = rds.client.eval(CHARGE, len(keys), *keys, *windows)
    waits = [
        max(int(counts[2 * i + 1]), 1) for i, (limit, _) in enumerate(counted) if int(counts[2 * i]) > limit.allowed
    ]
    return max(waits, default=0)
