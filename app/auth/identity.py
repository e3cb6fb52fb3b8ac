"""Who is signed in: the user (and church) behind a session, with a short per-process cache.

Every page needs the signed-in user and their church, and loading them is the one database
round trip an otherwise cached page makes (a pool checkout with its pre-ping, the query, the
rollback). Each process therefore keeps a detached copy for IDENTITY_CACHE_SECONDS (default 5;
0, meaning off, when testing) and merges it into the request's session without loading
(`merge(load=False)`), so the request still gets an ordinary persistent `User` whose changes
flush as usual.

Staleness is bounded both ways: any flush in this process that touches a user or a church
drops the whole cache at once, and other processes see a change (a role taken away, an account
deactivated, a church setting) within the TTL.
"""

from __future__ import annotations

import time

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, make_transient_to_detached

from app.extensions import db
from app.models import Church, User

# user id -> (expires at, detached User with its church loaded)
_cache: dict[int, tuple[float, User]] = {}
MAX_ENTRIES = 10_000


def load_user(user_id: int) -> User | None:
    """The user for a session's id, attached to this request's session, or None if gone."""
    ttl = current_app.config.get("IDENTITY_CACHE_SECONDS", 0 if current_app.testing else 5)
    if ttl <= 0:
        return db.session.get(User, user_id)
    now = time.monotonic()
    hit = _cache.get(user_id)
    if hit is not None and hit[0] > now:
        return db.session.merge(hit[1], load=False)
    user = db.session.get(User, user_id)
    if user is None:
        return None
    snapshot = _detached_copy(user)
    if len(_cache) >= MAX_ENTRIES:
        _cache.clear()
    _cache[user_id] = (now + ttl, snapshot)
    return user


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
def _forget_on_change(session: Session, _context) -> None:
    """A flush that writes a user or a church makes every cached identity suspect."""
    if not _cache:
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, User | Church):
            _cache.clear()
            return
