"""Who is signed in: the user (and church) behind a session, remembered by each process.

Every page needs the signed-in user and their church, and loading them is the one database
round trip an otherwise cached page makes (a pool checkout with its pre-ping, the query, the
rollback). Each process therefore remembers a detached copy (`app.cache.remember`) while the
user's and the church's versions stand still, and merges it into the request's session without
loading (`merge(load=False)`), so the request still gets an ordinary persistent `User` whose
changes flush as usual. A committed change to either row moves its version (app.cache.registry),
so it shows on the very next page, whichever process serves it.

The copy comes with the keys of the user's live sessions (app.auth.sessions), which move the
same ("user", id) version when one starts or ends: an ended session is refused on its next
request without a query of its own.

A user's church is known only once the user is loaded, so the first page a process serves a
user is read from the database and only then remembered: the versions are read before the load
that is kept, never after it.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import make_transient_to_detached

from app import cache
from app.auth import sessions
from app.extensions import db
from app.models import Church, User

# user id -> church id: a user never moves to another church, so this outlives any change.
_church_of: dict[int, int] = {}


def load_signed_in(token: str) -> User | None:
    """The user a session or remember-me cookie names ("<id>:<version>:<session key>"), while current.

    The version and the user's live session keys come with the remembered copy, so checking them
    costs nothing; a cookie from before the user's last sign-out (or role, password or status
    change) names an older version, and an ended session's key is no longer among the live ones.
    """
    parsed = sessions.parse_token(token)
    if parsed is None:
        return None  # a cookie from before versions and session keys: sign in again
    found = _load(parsed.user_id)
    if found is None:
        return None
    user, live = found
    if user.session_version != parsed.version or parsed.key not in live:
        return None
    sessions.accept(parsed.key, live[parsed.key])
    return user


def load_user(user_id: int) -> User | None:
    """The user for a session's id, attached to this request's session, or None if gone."""
    found = _load(user_id)
    return None if found is None else found[0]


Found = tuple[User, dict[str, datetime]]


def _load(user_id: int) -> Found | None:
    """The user, attached to this request's session, with their live sessions (key -> last seen)."""
    church_id = _church_of.get(user_id)
    if church_id is None:
        user = db.session.get(User, user_id)
        if user is None:
            return None
        _church_of[user_id] = user.church_id
        return user, sessions.live_sessions(user.id, user.session_version)
    ttl = current_app.config["IDENTITY_CACHE_SECONDS"]
    deps = [("user", user_id), ("church", church_id)]
    # The layout's billing banners read ("billing", church) on every owner page: read it along,
    # so the page's pieces that need only versions cost no round trip of their own.
    also = [("billing", church_id)]
    found = cache.remember(f"identity:{user_id}", deps, ttl, lambda: _detached_copy(user_id), also=also)
    if found is None:
        return None
    copy, live = found
    return db.session.merge(copy, load=False), live


def _detached_copy(user_id: int) -> Found | None:
    """A copy of the user and its church that belongs to no session (the cache's own), and their live sessions."""
    user = db.session.get(User, user_id)
    if user is None:
        return None
    church = Church(**{c.key: getattr(user.church, c.key) for c in Church.__mapper__.column_attrs})
    copy = User(**{c.key: getattr(user, c.key) for c in User.__mapper__.column_attrs})
    copy.church = church
    make_transient_to_detached(church)
    make_transient_to_detached(copy)
    return copy, sessions.live_sessions(user.id, user.session_version)
