"""What each model moves: the one registry from rows to cache dependencies.

`before_flush` (deleted objects) and `after_flush` (new and changed ones) look at every object of a
registered model and queue the dependencies its entry returns; `after_commit` publishes them
(`app.cache.publish`); a rollback drops them. No ORM writer calls anything: saving a church, a
user, a member, a group or a message moves what shows it.

    model                              dependencies moved
    Church                             ("church", id)
    User                               ("user", id); ("staff", church) when others see the change
    UserSession                        ("user", user): the signed-in identity keeps the live sessions
    Template                           ("templates", church)
    Conversation, ConversationMessage, ("conversation", church, conversation): the thread and
      ConversationNote                   the church's list
    Member                             ("members", church); the member's conversations when what
                                         a thread or list row shows of them changed
    Group, GroupMember, GroupLeader    ("groups", church): who a leader reaches
    Broadcast, Schedule                ("broadcasts", church)
    Subscription, UsagePeriod          ("billing", church)
    DailyStat                          ("stats", church)

Statements the ORM does not see (set-based SQL) move their dependencies with `app.cache.bump`
themselves, in the same transaction. These are all of them:

    app/stats.py                       daily_stats and member_counts: ("stats"), ("members")
    app/delivery/transitions.py        broadcasts' counters: ("broadcasts")
    app/delivery/engine.py             finished broadcasts; provider opt-outs (`members_changed`)
    app/delivery/statuses.py           reply statuses: ("conversation", church, id)
    app/inbox/inbound.py               a new member, conversation and message
    app/inbox/tasks.py                 replies the sweeper marks unknown
    app/keywords/services.py           a join keyword's group membership: ("groups")
    app/connect/services.py            a connect card's member and groups: ("members"), ("groups")
    app/people/services.py             group memberships, bulk delete
    app/people/groups.py               group leaders
    app/people/imports/services.py     an import's members, groups and renamed members' threads
    app/integrations/sync.py           a Planning Center sync's members, memberships, renamed threads
    app/broadcasts/services.py         broadcasts created, started, cancelled, paused, resumed
    app/broadcasts/tasks.py            a broadcast paused by its worker
    app/broadcasts/control.py          a scheduled broadcast edited (its recipients written again)
    app/broadcasts/schedules.py        schedules' next runs
    app/dead_letters.py                recipients retried from /ops
    app/usage.py                       usage periods: ("billing")
    app/retention.py                   broadcasts whose recipients were deleted; pruned threads
    app/auth/sessions.py               sessions ended or forgotten in bulk: ("user")
    app/automations/engine.py          an automation step's group membership: ("groups"), ("members")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, SessionTransaction, scoped_session

from app import cache
from app.cache import Dep
from app.extensions import db
from app.models import (
    Broadcast,
    Church,
    Conversation,
    ConversationMessage,
    ConversationNote,
    DailyStat,
    Group,
    GroupLeader,
    GroupMember,
    Member,
    Schedule,
    Subscription,
    Template,
    UsagePeriod,
    User,
    UserSession,
)

# What others see of a user (the inbox's assignment menu and message authors); a sign-in is not it.
STAFF_FIELDS = ("name", "email", "role", "active")
# What a thread or a list row shows of a member.
MEMBER_FIELDS = ("first_name", "last_name", "phone_e164", "email", "opted_out_at", "is_unknown", "branch_id")

Entry = Callable[[Any, Session, str], Iterable[Dep]]
REGISTRY: dict[type, Entry] = {}


def moves(*models: type) -> Callable[[Entry], Entry]:
    """Register what a change to these models moves: `entry(obj, session, how)` with how in new/dirty/deleted."""

    def register(entry: Entry) -> Entry:
        for model in models:
            REGISTRY[model] = entry
        return entry

    return register


def _changed(obj: Any, fields: Iterable[str]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in fields)


@moves(Church)
def _church(obj: Church, session: Session, how: str) -> Iterable[Dep]:
    return [("church", obj.id)]


@moves(User)
def _user(obj: User, session: Session, how: str) -> Iterable[Dep]:
    deps: list[Dep] = [("user", obj.id)]
    if how != "dirty" or _changed(obj, STAFF_FIELDS):
        deps.append(("staff", obj.church_id))
    return deps


@moves(UserSession)
def _user_session(obj: UserSession, session: Session, how: str) -> Iterable[Dep]:
    return [("user", obj.user_id)]


@moves(Template)
def _template(obj: Template, session: Session, how: str) -> Iterable[Dep]:
    return [("templates", obj.church_id)]


@moves(Conversation)
def _conversation(obj: Conversation, session: Session, how: str) -> Iterable[Dep]:
    return [("conversation", obj.church_id, obj.id)]


@moves(ConversationMessage, ConversationNote)
def _thread_item(obj: ConversationMessage | ConversationNote, session: Session, how: str) -> Iterable[Dep]:
    return [("conversation", obj.church_id, obj.conversation_id)]


@moves(Member)
def _member(obj: Member, session: Session, how: str) -> Iterable[Dep]:
    if how == "deleted":
        # Its conversations go with it (ON DELETE CASCADE): read before the flush deletes them.
        return [("members", obj.church_id), *conversation_deps(session, [obj.id])]
    if how == "new":
        return [("members", obj.church_id)]
    if not _changed(obj, MEMBER_FIELDS):
        return []
    return [("members", obj.church_id), *conversation_deps(session, [obj.id])]


@moves(Group, GroupMember, GroupLeader)
def _groups(obj: Any, session: Session, how: str) -> Iterable[Dep]:
    return [("groups", obj.church_id)]


@moves(Broadcast, Schedule)
def _broadcasts(obj: Any, session: Session, how: str) -> Iterable[Dep]:
    return [("broadcasts", obj.church_id)]


@moves(Subscription, UsagePeriod)
def _billing(obj: Any, session: Session, how: str) -> Iterable[Dep]:
    return [("billing", obj.church_id)]


@moves(DailyStat)
def _stats(obj: DailyStat, session: Session, how: str) -> Iterable[Dep]:
    return [("stats", obj.church_id)]


def conversation_deps(session: Session, member_ids: Iterable[int]) -> list[Dep]:
    """The conversations of these members, as dependencies (one indexed query)."""
    ids = sorted(set(member_ids))
    if not ids:
        return []
    rows = session.execute(select(Conversation.church_id, Conversation.id).where(Conversation.member_id.in_(ids))).all()
    return [("conversation", church_id, conversation_id) for church_id, conversation_id in rows]


def members_changed(church_id: int, member_ids: Iterable[int], session: Session | scoped_session | None = None) -> None:
    """For set-based writers of members: move the members' figures and their conversations.

    Call it before deleting members (their conversations go with them).
    """
    session = session if session is not None else db.session
    cache.bump(("members", church_id), *conversation_deps(session, member_ids), session=session)


@event.listens_for(Session, "before_flush")
def _collect_deleted(session: Session, _context: Any, _instances: Any) -> None:
    """Deleted rows are read before the flush: what cascades with them is still there to find."""
    _queue(session, (("deleted", session.deleted),))


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    """New rows have their ids and changed rows their history now; published when the transaction commits."""
    _queue(session, (("new", session.new), ("dirty", session.dirty)))


def _queue(session: Session, groups: Iterable[tuple[str, Iterable[Any]]]) -> None:
    deps: set[Dep] = set()
    for how, objects in groups:
        for obj in objects:
            entry = REGISTRY.get(type(obj))
            if entry is not None:
                deps.update(entry(obj, session, how))
    if deps:
        session.info.setdefault(cache.PENDING, set()).update(deps)


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    pending = cache.take_pending(session)
    if pending:
        cache.publish(pending)


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, previous: SessionTransaction) -> None:
    # Only the outermost transaction's rollback drops them: a savepoint's rollback inside a longer
    # transaction keeps the outer work's (one moved more than needed costs a re-render, never a
    # stale page).
    if previous.parent is None:
        cache.take_pending(session)
