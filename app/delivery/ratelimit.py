"""Per-sending-number throughput limits, shared by every worker process through Redis."""

from __future__ import annotations

import time
from collections.abc import Mapping

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

# Messages per second per sending number (Telnyx/carrier defaults; 10DLC varies per campaign,
# so deployments override long_code from the campaign's approved throughput).
DEFAULT_RATES: dict[str, int] = {"long_code": 10, "toll_free": 20, "short_code": 1000}
# Unknown number types get the most conservative rate rather than an error mid-broadcast.
FALLBACK_TYPE = "long_code"
# Never sleep longer than this in one go, so a freed slot is noticed promptly.
MAX_NAP = 0.25


class NumberRateLimiter:
    """A moving one-second window per sending number, in Redis so all workers share it.

    Moving (not fixed) windows so two workers cannot each burst a full second's quota at a
    window boundary, which carriers see as double the agreed throughput.
    """

    def __init__(
        self,
        redis_url: str,
        rates: Mapping[str, int] | None = None,
        *,
        key_prefix: str = "koinonia:sms-rate",
    ) -> None:
        self.rates = {**DEFAULT_RATES, **(rates or {})}
        self._storage = RedisStorage(redis_url, key_prefix=key_prefix)
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._items: dict[int, RateLimitItem] = {}

    def rate_for(self, number_type: str) -> int:
        """Messages per second allowed for a number of this type."""
        return int(self.rates.get(number_type, self.rates[FALLBACK_TYPE]))

    def _item(self, number_type: str) -> RateLimitItem:
        rate = self.rate_for(number_type)
        item = self._items.get(rate)
        if item is None:
            item = self._items[rate] = RateLimitItemPerSecond(rate, 1, namespace="sms")
        return item

    def try_acquire(self, number: str, number_type: str, n: int = 1) -> bool:
        """Take `n` sends now if all fit in the current window; never waits."""
        return self._limiter.hit(self._item(number_type), number, cost=n)

    def acquire(
        self,
        number: str,
        number_type: str,
        n: int = 1,
        *,
        block: bool = True,
        timeout: float | None = None,
    ) -> bool:
        """Take `n` sends for `number`, waiting for room unless `block` is False.

        Returns False when the window stayed full past `timeout` seconds (None: wait forever).
        """
        item = self._item(number_type)
        if n > item.amount:
            raise ValueError(f"cannot take {n} sends at once from a {item.amount}/s number")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._limiter.hit(item, number, cost=n):
                return True
            if not block or not self._nap(item, number, deadline):
                return False

    def acquire_batch(self, number: str, number_type: str, n: int, *, timeout: float | None = None) -> int:
        """Take as many of `n` sends as the window has room for (at least one, waiting if needed).

        One call per chunk instead of one per message: a worker sends the returned count,
        then asks again. Returns 0 only when `timeout` passed with the window still full.
        """
        item = self._item(number_type)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = self._limiter.get_window_stats(item, number).remaining
            take = min(n, remaining)
            # Another worker may take the room between the two calls; then look again.
            if take > 0 and self._limiter.hit(item, number, cost=take):
                return take
            if take <= 0 and not self._nap(item, number, deadline):
                return 0

    def wait_time(self, number: str, number_type: str) -> float:
        """Seconds until `number` has room for one more send (0 when it has room now)."""
        item = self._item(number_type)
        stats = self._limiter.get_window_stats(item, number)
        return 0.0 if stats.remaining > 0 else max(0.0, stats.reset_time - time.time())

    def reset(self, number: str, number_type: str) -> None:
        """Forget recent sends from `number` (tests and ops)."""
        self._limiter.clear(self._item(number_type), number)

    def _nap(self, item: RateLimitItem, number: str, deadline: float | None) -> bool:
        """Sleep until the oldest send in the window expires; False if the deadline passed."""
        stats = self._limiter.get_window_stats(item, number)
        delay = min(MAX_NAP, max(0.002, stats.reset_time - time.time()))
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            delay = min(delay, left)
        time.sleep(delay)
        return True
