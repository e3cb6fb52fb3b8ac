"""A circuit breaker for the SMS provider, shared by all workers through Redis.

Closed: calls flow; `threshold` failures within `window` seconds open it. Open: calls are
refused for `cooldown` seconds. Half-open: exactly one caller (SET NX probe token) may try;
its success closes the circuit, its failure reopens it. Each transition is one Lua script
using Redis's clock, so processes on different hosts agree without trusting their clocks.
"""

from __future__ import annotations

import os
from typing import Any

from redis import Redis

_NOW = """
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# KEYS: failures, open_until, probe. ARGV: probe_ttl_ms, probe_token.
_ALLOW = (
    _NOW
    + """
local open_until = redis.call('GET', KEYS[2])
if not open_until then return 1 end
if now() < tonumber(open_until) then return 0 end
if redis.call('SET', KEYS[3], ARGV[2], 'NX', 'PX', ARGV[1]) then return 2 end
return 0
"""
)

# ARGV: threshold, window, cooldown, unique member.
_FAILURE = (
    _NOW
    + """
local t = now()
local cooldown = tonumber(ARGV[3])
local open_until = redis.call('GET', KEYS[2])
if open_until then
  -- Calls that started before the circuit opened must not stretch the cooldown.
  if t < tonumber(open_until) then return 'open' end
  redis.call('SET', KEYS[2], string.format('%.6f', t + cooldown))
  redis.call('DEL', KEYS[3])
  return 'open'
end
local window = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], t, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', t - window)
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], string.format('%.6f', t + cooldown))
  redis.call('DEL', KEYS[1], KEYS[3])
  return 'open'
end
return 'closed'
"""
)

_SUCCESS = (
    _NOW
    + """
local open_until = redis.call('GET', KEYS[2])
if not open_until then return 'closed' end
-- A straggler that succeeded while open proves little; only a half-open success closes.
if now() < tonumber(open_until) then return 'open' end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return 'closed'
"""
)

# ARGV: window.
_STATE = (
    _NOW
    + """
local t = now()
local failures = redis.call('ZCOUNT', KEYS[1], t - tonumber(ARGV[1]), '+inf')
local open_until = redis.call('GET', KEYS[2])
local probe = redis.call('EXISTS', KEYS[3])
if not open_until then return {'closed', failures, '0', probe} end
local left = tonumber(open_until) - t
if left > 0 then return {'open', failures, string.format('%.3f', left), probe} end
return {'half_open', failures, '0', probe}
"""
)


class CircuitBreaker:
    """Redis-backed circuit breaker; every process using the same `name` shares one state."""

    def __init__(
        self,
        redis: Redis,
        name: str = "telnyx",
        threshold: int = 5,
        window: float = 60,
        cooldown: float = 30,
        *,
        probe_timeout: float | None = None,
        key_prefix: str = "koinonia:circuit",
    ) -> None:
        self.name = name
        self.threshold = threshold
        self.window = window
        self.cooldown = cooldown
        # A probe whose worker died must not hold the circuit half-open forever.
        self.probe_ttl_ms = int(1000 * (probe_timeout if probe_timeout else max(cooldown, 15)))
        base = f"{key_prefix}:{{{name}}}"  # hash tag: all keys on one Redis Cluster slot
        self.keys = [f"{base}:failures", f"{base}:open_until", f"{base}:probe"]
        self._redis = redis
        self._allow = redis.register_script(_ALLOW)
        self._failure = redis.register_script(_FAILURE)
        self._success = redis.register_script(_SUCCESS)
        self._state = redis.register_script(_STATE)

    def allow(self) -> bool:
        """True if a call may go out now (closed, or this caller won the half-open probe)."""
        token = os.urandom(8).hex()
        return int(self._allow(keys=self.keys, args=[self.probe_ttl_ms, token])) > 0

    def record_success(self) -> None:
        """Report a call the provider answered; closes a half-open circuit."""
        self._success(keys=self.keys)

    def record_failure(self) -> None:
        """Report a provider failure (5xx, timeout); may open or reopen the circuit."""
        member = os.urandom(8).hex()
        self._failure(keys=self.keys, args=[self.threshold, self.window, self.cooldown, member])

    def state(self) -> dict[str, Any]:
        """Current state for /health/ready and metrics: state, failures, retry_in seconds."""
        state, failures, retry_in, probe = self._state(keys=self.keys, args=[self.window])
        state = state.decode() if isinstance(state, bytes) else state
        retry_in = float(retry_in.decode() if isinstance(retry_in, bytes) else retry_in)
        return {
            "state": state,
            "failures": int(failures),
            "retry_in": retry_in,
            "probe_in_flight": bool(probe),
        }

    def reset(self) -> None:
        """Close the circuit and forget failures (ops action, tests)."""
        self._redis.delete(*self.keys)
