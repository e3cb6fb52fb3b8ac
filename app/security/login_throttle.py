"""How many sign-in attempts an account, an address and the pair of them may make.

Three counters, each charged *before* the password is checked (one atomic script: INCR, and an
expiry on the first charge), so attempts sent in parallel are counted as they arrive, and a
refused attempt never reaches the argon2 hash (64 MiB each, which is what an attacker would
make us spend):

- per account: 10 an hour, from whatever address (a password guessed across many addresses);
- per address: 50 an hour, whatever the email (one password tried against many accounts);
- per address and account: 5 in 15 minutes (someone mistyping shouldn't lock the account).

A successful sign-in takes its charge back, so only failures count: an office signing in all day
behind one address is never paused. The account is keyed by the email as typed (normalised), known
or not, so a refusal says nothing about which emails have accounts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from app.extensions import rds
from app.security.throttle import CHARGE

PREFIX = "koinonia:login"

# (name, attempts, window in seconds)
LIMITS = (
    ("account", 10, 3600),
    ("address", 50, 3600),
    ("pair", 5, 900),
)

_REFUND = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 0
"""


@dataclass(frozen=True)
class Attempt:
    """One charged sign-in attempt: refused (with seconds to wait) or allowed to check the password."""

    keys: tuple[str, ...]
    retry_after: int  # 0 when allowed

    @property
    def refused(self) -> bool:
        return self.retry_after > 0

    def refund(self) -> None:
        """The password was right: this attempt does not count against anyone."""
        rds.client.eval(_REFUND, len(self.keys), *self.keys)


def _keys(address: str, email: str) -> tuple[str, ...]:
    # Emails are hashed: the counters should not be a list of who tried to sign in.
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    parts = {"account": account, "address": address, "pair": f"{address}|{account}"}
    return tuple(f"{PREFIX}:{name}:{parts[name]}" for name, _, _ in LIMITS)


def charge(address: str, email: str) -> Attempt:
    """Count an attempt by `address` at `email` against every limit, before its password is checked."""
    keys = _keys(address, email)
    windows = [window for _, _, window in LIMITS]
    counts = rds.client.eval(CHARGE, len(keys), *keys, *windows)
    waits = [max(int(counts[2 * i + 1]), 1) for i, (_, allowed, _) in enumerate(LIMITS) if int(counts[2 * i]) > allowed]
    return Attempt(keys, max(waits, default=0))
