"""The one cache: values stamped with the versions of what they depend on.

A cached value names its dependencies, small tuples that say what it shows:

    ("church", 3)            church 3's own row (name, time zone, settings)
    ("staff", 3)             church 3's users as others see them (names, roles, active)
    ("conversation", 3)      any conversation of church 3 (the inbox list, the unread badge)
    ("conversation", 3, 42)  conversation 42 of church 3 (its thread pane)

Each dependency has a version in Redis. A two-part dependency is a counter. A three-part one is
an item of the collection named by its first two parts: moving it moves the collection too, and
its version is the collection's version at which it last moved (a sorted set per collection, its
*journal*), so `changed_since` can also say which items moved, which the inbox's live poll uses.

Reading is one round trip: `lookup` reads the versions of every dependency of a page's values and
the values themselves in one pipeline (one MGET for counters and values, plus a ZSCORE for each
item). A value is used only when it was stored under the versions read now; otherwise it is
rendered again and stored under the versions read *before* rendering, so a change that commits
while rendering moves the versions past the stored stamp and is never hidden.

Versions move only after a commit (`bump` queues on the session; `app.cache.registry` publishes
from one after_commit listener), so a page that sees a new version finds the committed rows.
What moves which dependency is declared once, in `app.cache.registry`, per model. Raw-SQL writers
that the ORM does not see call `bump` themselves; the registry's docstring lists them.

Two stores: `fragment` keeps rendered HTML in Redis (shared by every process); `remember` keeps
Python objects in this process (the signed-in identity, the dashboard's figures) and checks their
stamps against Redis on every use. Every stamp starts with a token made when Redis first saw this
cache, so a Redis that lost its data (versions back to 0) can never make an old value look current.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import redis
from flask import has_request_context, request
from sqlalchemy.orm import Session, scoped_session

from app.extensions import db, rds

log = logging.getLogger(__name__)

Dep = tuple[Any, ...]
T = TypeVar("T")

PREFIX = "koinonia:cache"
ORIGIN_KEY = f"{PREFIX}:origin"
JOURNAL_KEPT = 500  # items kept per journal; an older item's version is the oldest one kept
PENDING = "koinonia_cache_pending"
MEMO = "koinonia.cache.versions"  # in the WSGI environ: versions already read by this request
LOCAL_MAX = 10_000

# INCR the collection, give each item that version, keep the journal small. What is trimmed
# away is remembered as the journal's floor: an item not in the journal last moved at or
# before it (0 while nothing was ever trimmed).
_JOURNAL = f"""
local v = redis.call('INCR', KEYS[1])
for i = 1, #ARGV do redis.call('ZADD', KEYS[2], v, ARGV[i]) end
if redis.call('ZCARD', KEYS[2]) > {JOURNAL_KEPT} then
  local cut = redis.call('ZRANGE', KEYS[2], -1 - {JOURNAL_KEPT}, -1 - {JOURNAL_KEPT}, 'WITHSCORES')
  redis.call('SET', KEYS[3], cut[2])
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -1 - {JOURNAL_KEPT})
end
return v
"""


def _counter_key(kind: str, ident: Any) -> str:
    return f"{PREFIX}:v:{kind}:{ident}"


def version_key(dep: Dep) -> str:
    """The Redis key holding a two-part dependency's version (for tools outside the app, e.g. benches)."""
    return _counter_key(*dep)


def _journal_key(kind: str, ident: Any) -> str:
    return f"{PREFIX}:j:{kind}:{ident}"


def _floor_key(kind: str, ident: Any) -> str:
    return f"{PREFIX}:floor:{kind}:{ident}"


def _value_key(name: str) -> str:
    """The Redis key a fragment called `name` is stored under."""
    return f"{PREFIX}:f:{name}"


# --- writing: bump -------------------------------------------------------------------------------


def bump(*deps: Dep, session: Session | scoped_session | None = None) -> None:
    """Move these dependencies: after the session's commit when it is in a transaction, else now."""
    session = _real(session if session is not None else db.session)
    if session.in_transaction():
        session.info.setdefault(PENDING, set()).update(deps)
    else:
        publish(deps)


def _real(session: Session | scoped_session) -> Session:
    return session() if isinstance(session, scoped_session) else session


def publish(deps: Iterable[Dep]) -> None:
    """Move these dependencies now, in one round trip (use `bump` inside a transaction)."""
    deps = set(deps)
    journals: dict[tuple[str, Any], set[Any]] = {}
    for dep in deps:
        if len(dep) == 3:
            journals.setdefault((dep[0], dep[1]), set()).add(dep[2])
    # A collection whose items moved moves with them (once): no separate INCR for it.
    counters = {_counter_key(*dep) for dep in deps if len(dep) != 3 and dep not in journals}
    if not counters and not journals:
        return
    if has_request_context():
        request.environ.pop(MEMO, None)  # this request reads what it just moved afresh
    try:
        pipe = rds.client.pipeline(transaction=False)
        for key in sorted(counters):
            pipe.incr(key)
        for (kind, ident), items in sorted(journals.items(), key=str):
            keys = (_counter_key(kind, ident), _journal_key(kind, ident), _floor_key(kind, ident))
            pipe.eval(_JOURNAL, 3, *keys, *sorted(items))
        pipe.execute()
    except redis.RedisError:
        # Values stored before this change keep their stamps until Redis is back; their TTLs bound it.
        log.warning("could not publish a cache change", exc_info=True)


def take_pending(session: Session) -> set[Dep]:
    """The dependencies a session queued for its commit (emptied)."""
    return session.info.pop(PENDING, None) or set()


# --- reading: lookup -----------------------------------------------------------------------------


@dataclass(slots=True)
class Entry:
    """One value looked up: the stamp of the versions read now, and the value if stored at that stamp."""

    key: str
    stamp: str
    value: str | None


@dataclass(frozen=True, slots=True)
class Lookup:
    """The versions of the dependencies read in one `lookup`, and the entries asked for."""

    origin: str  # "" when Redis could not be read: then nothing is stamped or trusted
    versions: dict[Dep, int]
    entries: dict[str, Entry]

    def stamp(self, deps: Sequence[Dep]) -> str:
        """The stamp of `deps` at the versions read ("" when Redis could not be read)."""
        return _stamp(self.origin, deps, self.versions) if self.origin else ""


def lookup(wanted: dict[str, Sequence[Dep]] | None = None, extra: Sequence[Dep] = ()) -> Lookup:
    """Read the versions of every dependency and the stored values of `wanted` in one round trip.

    `wanted` maps a fragment's name to its dependencies (a name may end in ":<extra stamp>"
    by the caller's choice, e.g. the day a list's times are relative to). `extra` are
    dependencies whose versions the caller wants too (e.g. the inbox version for the poll).
    """
    wanted = wanted or {}
    deps: list[Dep] = list(dict.fromkeys([*extra, *(d for ds in wanted.values() for d in ds)]))
    memo: dict[Any, Any] = request.environ.setdefault(MEMO, {}) if has_request_context() else {}
    # Counters this request already read are not read again: a page's pieces share one snapshot.
    counters = [d for d in deps if len(d) != 3 and d not in memo]
    items = [d for d in deps if len(d) == 3]
    floors = list(dict.fromkeys((kind, ident) for kind, ident, _ in items))
    names = list(wanted)
    if ORIGIN_KEY in memo and not (counters or items or names):
        return Lookup(memo[ORIGIN_KEY], {d: memo[d] for d in deps}, {})
    mget_keys = [
        ORIGIN_KEY,
        *(_counter_key(*d) for d in counters),
        *(_floor_key(*f) for f in floors),
        *(_value_key(n) for n in names),
    ]
    try:
        if items:
            pipe = rds.client.pipeline(transaction=False)
            pipe.mget(mget_keys)
            for kind, ident, item in items:
                pipe.zscore(_journal_key(kind, ident), item)
            results = pipe.execute()
        else:
            results = [rds.client.mget(mget_keys)]  # a plain command costs less than a pipeline
    except redis.RedisError:
        log.warning("cache lookup failed; rendering without it", exc_info=True)
        return Lookup("", {d: 0 for d in deps}, {n: Entry(_value_key(n), "", None) for n in names})
    values = results[0]
    origin = (values[0] or _make_origin()).decode()
    versions: dict[Dep, int] = {d: int(v or 0) for d, v in zip(counters, values[1:], strict=False)}
    memo.update(versions)
    memo[ORIGIN_KEY] = origin
    versions.update((d, memo[d]) for d in deps if len(d) != 3 and d not in versions)
    floor_of = {f: int(v or 0) for f, v in zip(floors, values[1 + len(counters) :], strict=False)}
    for dep, score in zip(items, results[1:], strict=True):
        # Not in the journal: it last moved at or before what was trimmed (the floor), so the floor
        # stands for it. The floor moves only when newer changes push more out: a needless
        # re-render, never a stale value.
        versions[dep] = int(score) if score is not None else floor_of[dep[:2]]
    stored = values[1 + len(counters) + len(floors) :]
    entries = {}
    for name, raw in zip(names, stored, strict=True):
        stamp = _stamp(origin, wanted[name], versions)
        entries[name] = Entry(_value_key(name), stamp, _unstamp(raw, stamp))
    return Lookup(origin, versions, entries)


def _make_origin() -> bytes:
    """Set the origin token if Redis has none (a new or flushed Redis) and return the one that won."""
    token = secrets.token_hex(8).encode()
    try:
        rds.client.set(ORIGIN_KEY, token, nx=True)
        return rds.client.get(ORIGIN_KEY) or token
    except redis.RedisError:
        return token


def _stamp(origin: str, deps: Sequence[Dep], versions: dict[Dep, int]) -> str:
    return ":".join([origin, *(str(versions[d]) for d in deps)])


def _unstamp(raw: bytes | None, stamp: str) -> str | None:
    if raw is None:
        return None
    head, newline, value = raw.partition(b"\n")
    return value.decode() if newline and head.decode() == stamp else None


def store(entry: Entry, value: str, ttl: int) -> str:
    """Keep `value` for `entry` at the stamp it was looked up with; returns the value."""
    entry.value = value
    if not entry.stamp:
        return value  # Redis was down at lookup: nothing trustworthy to stamp it with
    try:
        rds.client.set(entry.key, f"{entry.stamp}\n{value}", ex=ttl)
    except redis.RedisError:
        log.warning("could not store a cached value", exc_info=True)
    return value


def fragment(name: str, deps: Sequence[Dep], ttl: int, render: Callable[[], str], found: Lookup | None = None) -> str:
    """The value called `name`: stored and current, or rendered now and stored.

    Pass `found` when a `lookup` already read it with the rest of the page (one round trip).
    """
    found = found if found is not None and name in found.entries else lookup({name: deps})
    entry = found.entries[name]
    if entry.value is not None:
        return entry.value
    return store(entry, render(), ttl)


# --- this process's objects: remember -------------------------------------------------------------

_local: dict[str, tuple[float, str, Any]] = {}
_local_lock = threading.Lock()


def remember(name: str, deps: Sequence[Dep], ttl: float, load: Callable[[], T], also: Sequence[Dep] = ()) -> T:
    """An object kept in this process while its dependencies stand still (and for at most `ttl` s).

    One round trip reads the versions (none when this request read them already); `load` runs on
    a miss, after they were read. `also` are read in the same round trip for later pieces of the
    request.
    """
    stamp = lookup(extra=[*deps, *also]).stamp(deps)
    now = time.monotonic()
    hit = _local.get(name)
    if stamp and hit is not None and hit[0] > now and hit[1] == stamp:
        return hit[2]
    value = load()
    if stamp:
        with _local_lock:
            if len(_local) >= LOCAL_MAX:
                _local.clear()
            _local[name] = (now + ttl, stamp, value)
    return value


def forget_local() -> None:
    """Drop what this process remembers (its values are checked against Redis anyway)."""
    with _local_lock:
        _local.clear()


# --- the journal: what moved --------------------------------------------------------------------


def changed_since(collection: Dep, version: int) -> tuple[int, list[Any] | None]:
    """(the collection's version, the items that moved after `version`).

    The items are None when they cannot be known (the caller is further behind than the journal
    keeps, or Redis lost its data): the caller then re-reads everything.
    """
    kind, ident = collection
    try:
        pipe = rds.client.pipeline(transaction=True)
        pipe.get(_counter_key(kind, ident))
        pipe.get(_floor_key(kind, ident))
        pipe.zrangebyscore(_journal_key(kind, ident), f"({version}", "+inf")
        raw_version, raw_floor, ids = pipe.execute()
    except redis.RedisError:
        return version, []
    current = int(raw_version or 0)
    if current < version or int(raw_floor or 0) > version:
        return current, None
    return current, [int(i) for i in ids]


def version(dep: Dep) -> int:
    """One dependency's version (0 before its first move, or when Redis cannot say)."""
    if len(dep) == 3:
        return lookup(extra=[dep]).versions.get(dep, 0)
    try:
        return int(rds.client.get(_counter_key(*dep)) or 0)
    except redis.RedisError:
        return 0
