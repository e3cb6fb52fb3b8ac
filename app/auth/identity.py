"""Who is signed in: the user (and church) behind a session, with a short per-process cache.

Every page needs the signed-in user and their church, and loading them is the one database
round trip an otherwise cached page makes (a pool checkout with its pre-ping, the query, the
rollback). Each process therefore keeps a detached copy for IDENTITY_CACHE_SECONDS (default 5;
0, meaning off, when testing) and merges it into the request's session without loading
(`merge(load=False)`), so the request still gets an ordinary persistent `User` whose changes
flush as usual.

A change must show on the very next page, whichever process serves it (an admin saves the
church's settings and is redirected to a worker that cached the old ones). So a commit that
wrote any user or church increments an epoch in Redis, and a cached copy is used only while
the epoch it was loaded under is still current: one Redis GET per page instead of the database
round trip. Rows changed outside the ORM (a SQL console) show within the TTL.
"""

from __future__ import annotations

import logging
import time

import redis
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, make_transient_to_detached

from app.extensions import db, rds
from app.models import Church, User

log = logging.getLogger(__name__)

EPOCH_KEY = "koinonia:identity:epoch"
MAX_ENTRIES = 10_000
_CHANGED = "koinonia_identity_changed"

# user id -> (expires at, epoch it was loaded under, detached User with its church loaded)
_cache: dict[int, tuple[float, bytes, User]] = {}


def load_user(user_id: int) -> User | None:
    """The user for a session's id, attached to this request's session, or None if gone."""
    ttl = current_app.config.get("IDENTITY_CACHE_SECONDS", 0 if current_app.testing else 5)
    if ttl <= 0:
        return db.session.get(User, user_id)
    epoch = _current_epoch()
    now = time.monotonic()
    hit = _cache.get(user_id)
    if epoch is not None and hit is not None and hit[0] > now and hit[1] == epoch:
        return db.session.merge(hit[2], load=False)
    user = db.session.get(User, user_id)
    if user is None or epoch is None:
        return user
    if len(_cache) >= MAX_ENTRIES:
        _cache.clear()
    _cache[user_id] = (now + ttl, epoch, _detached_copy(user))
    return user


def _current_epoch() -> bytes | None:
    """The epoch in Redis (b"0" before the first change); None when Redis cannot say (no caching)."""
    try:
        return rds.client.get(EPOCH_KEY) or b"0"
    except redis.RedisError:
        return None


def _detached_copy(user: User) -> User:
    """A copy of `user` and its church that belongs to no session (the cache's own)."""
    church = Church(**{c.key: getattr(user.church, c.key) for c in Church.__mapper__.column_attrs})
    copy = User(**{c.key: getattr(user, c.key) for c in User.__mapper__.column_attrs})
    copy.church = church
    make_transient_to_detached(church)
    make_transient_to_detached(copy)
    return copy


def forget_all() -> None:
    _cache.clear()


@event.listens_for(Session, "after_flush")
def _note_change(session: Session, _context) -> None:
    """A flush that writes a user or a church makes every cached identity suspect."""
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, User | Church):
            session.info[_CHANGED] = True
            _cache.clear()
            return


@event.listens_for(Session, "after_commit")
def _publish_change(session: Session) -> None:
    """After the commit (never for a rolled-back change), every process drops what it cached."""
    if not session.info.pop(_CHANGED, False):
        return
    try:
        rds.client.incr(EPOCH_KEY)
    except (redis.RedisError, RuntimeError):
        # Other processes catch up within IDENTITY_CACHE_SECONDS.
        log.warning("could not publish an identity change")


@event.listens_for(Session, "after_rollback")
def _drop_change(session: Session) -> None:
    session.info.pop(_CHANGED, None)
