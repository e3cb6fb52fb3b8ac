"""Live inbox updates: a per-church version counter in Redis, moved only after a commit.

Writers call `note_change(church_id, conversation_id)` inside their transaction. Nothing reaches
Redis until the transaction commits, so a poll that sees a new version always finds the rows
that changed in the database. One Lua call increments the version and records which
conversations changed at that version (a sorted set trimmed to the last few hundred), which
lets a poll answer with just the changed list rows. Jobs queued with `enqueue_after_commit`
follow the same rule: a worker never picks up a message id that is not committed yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from app.extensions import db, rds
from app.models import Conversation, Template, User

log = logging.getLogger(__name__)

CHANGES_KEPT = 500
_CHANGES_KEY = "koinonia:inbox:changes:{church_id}"
# The generation of what every thread of a church shows besides its own messages: the staff it can
# be assigned to, the canned replies, members updated in bulk. Cached threads are keyed by it.
_THREADS_KEY = "koinonia:inbox:threads:{church_id}"
_STAFF_FIELDS = ("name", "email", "role", "active")
_PENDING = "koinonia_inbox_pending"

# INCR the version, tag each changed conversation with it, keep the set small.
_BUMP = f"""
local v = redis.call('INCR', KEYS[1])
for i = 1, #ARGV do redis.call('ZADD', KEYS[2], v, ARGV[i]) end
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -1 - {CHANGES_KEPT})
return v
"""


def version_key(church_id: int) -> str:
    """The Redis key of a church's inbox version (also incremented by the webhook processor)."""
    return f"koinonia:inbox:version:{church_id}"


def _pending(session: Session) -> dict[str, Any]:
    return session.info.setdefault(_PENDING, {"changes": {}, "jobs": [], "threads": set()})


def note_change(church_id: int, conversation_id: int | None = None, session: Session | None = None) -> None:
    """Record that a church's inbox changed; published to Redis when the transaction commits."""
    changes = _pending(session or db.session)["changes"].setdefault(church_id, set())
    if conversation_id is not None:
        changes.add(int(conversation_id))


def note_members_changed(church_id: int, member_ids: Iterable[int], session: Session | None = None) -> None:
    """Record the conversations of these members as changed: threads show their name, number and consent.

    Call it before deleting the members (their conversations go with them).
    """
    session = session or db.session
    ids = session.scalars(
        select(Conversation.id).where(Conversation.church_id == church_id, Conversation.member_id.in_(list(member_ids)))
    ).all()
    for conversation_id in ids:
        note_change(church_id, conversation_id, session)


def note_threads_changed(church_id: int, session: Session | None = None) -> None:
    """Record that something every thread of the church shows has changed; published after the commit."""
    _pending(session or db.session)["threads"].add(church_id)


def enqueue_after_commit(queue: str, func: str, *args: Any, **options: Any) -> None:
    """Enqueue an RQ job once the current transaction has committed (never for a rolled-back one)."""
    _pending(db.session)["jobs"].append((queue, func, args, options))


def publish(church_id: int, conversation_ids: set[int] | list[int] = ()) -> int | None:
    """Bump the version now (outside any transaction); returns the new version."""
    try:
        keys = [version_key(church_id), _CHANGES_KEY.format(church_id=church_id)]
        return int(rds.client.eval(_BUMP, 2, *keys, *sorted(conversation_ids)))
    except redis.RedisError:
        # The inbox still works without live updates; the next change bumps it again.
        log.warning("could not publish an inbox change", exc_info=True)
        return None


def current_version(church_id: int) -> int:
    """The church's inbox version (0 before the first change)."""
    try:
        return int(rds.client.get(version_key(church_id)) or 0)
    except redis.RedisError:
        return 0


@dataclass(frozen=True, slots=True)
class Versions:
    """Where a church's inbox stands, as read by `lookup`."""

    church: int  # the inbox version: moves with every change
    conversation: int  # the version at which the looked-up conversation last changed (0 without one)
    threads: int  # the generation of what every thread shows (_THREADS_KEY)


def lookup(church_id: int, conversation_id: int | None = None, keys: Sequence[str] = ()) -> tuple[Versions, list]:
    """The church's versions and the values of `keys` (cached pieces of a page), in one round trip.

    A conversation no longer in the trimmed change set changed at or before the oldest version
    still in it, so that oldest version stands for it: it moves only when newer changes push
    more out, which costs a re-render, never a stale one.
    """
    changes = _CHANGES_KEY.format(church_id=church_id)
    try:
        pipe = rds.client.pipeline(transaction=False)
        pipe.get(version_key(church_id))
        pipe.get(_THREADS_KEY.format(church_id=church_id))
        if conversation_id is not None:
            pipe.zscore(changes, conversation_id)
            pipe.zrange(changes, 0, 0, withscores=True)
        for key in keys:
            pipe.get(key)
        values = pipe.execute()
    except redis.RedisError:
        return Versions(0, 0, 0), [None] * len(keys)
    version, generation = int(values[0] or 0), int(values[1] or 0)
    if conversation_id is None:
        return Versions(version, 0, generation), values[2:]
    score, oldest = values[2], values[3]
    if score is None:
        score = oldest[0][1] if oldest else 0
    return Versions(version, int(score), generation), values[4:]


def threads_generation(church_id: int) -> int:
    """The generation of what every thread of the church shows (see _THREADS_KEY)."""
    try:
        return int(rds.client.get(_THREADS_KEY.format(church_id=church_id)) or 0)
    except redis.RedisError:
        return 0


def changed_since(church_id: int, version: int) -> tuple[int, list[int] | None]:
    """(current version, ids of conversations changed after `version`).

    The ids are None when they cannot be known (the client is too far behind the trimmed
    set, or Redis was reset): the caller then re-renders the whole first page.
    """
    key = _CHANGES_KEY.format(church_id=church_id)
    try:
        pipe = rds.client.pipeline(transaction=True)
        pipe.get(version_key(church_id))
        pipe.zrangebyscore(key, f"({version}", "+inf")
        pipe.zrange(key, 0, 0, withscores=True)
        raw_version, ids, oldest = pipe.execute()
    except redis.RedisError:
        return version, []
    current = int(raw_version or 0)
    if current < version:
        return current, None
    if oldest and int(oldest[0][1]) > version + 1 and len(ids) >= CHANGES_KEPT:
        return current, None
    return current, [int(i) for i in ids]


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    for church_id, ids in pending["changes"].items():
        publish(church_id, ids)
    for church_id in pending["threads"]:
        try:
            rds.client.incr(_THREADS_KEY.format(church_id=church_id))
        except redis.RedisError:
            log.warning("could not publish a change to every thread", exc_info=True)
    for queue, func, args, options in pending["jobs"]:
        _enqueue(queue, func, args, options)


@event.listens_for(Session, "after_flush")
def _note_staff_and_templates(session: Session, _context: Any) -> None:
    """Threads show the staff (assignment menu, authors) and canned replies: a change to them is one
    to every thread of that church. A user's sign-in time is not."""
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Template) or (isinstance(obj, User) and _staff_change(obj, session)):
            note_threads_changed(obj.church_id, session)


def _staff_change(user: User, session: Session) -> bool:
    if user in session.new or user in session.deleted:
        return True
    attrs = inspect(user).attrs
    return any(attrs[name].history.has_changes() for name in _STAFF_FIELDS)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    # A savepoint rollback inside a longer transaction must not drop the outer work.
    if not session.in_transaction():
        session.info.pop(_PENDING, None)


def _enqueue(queue: str, func: str | Callable[..., Any], args: tuple[Any, ...], options: dict[str, Any]) -> None:
    try:
        rds.queue(queue).enqueue(func, *args, **options)
    except redis.RedisError:
        # The message stays 'sending' (visible in the thread); nothing is sent twice.
        log.warning("could not enqueue %s", func, exc_info=True)
