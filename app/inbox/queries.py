"""Read queries of the inbox: the conversation list, a thread, the unread badge.

Lists page by keyset on (last_message_at, id) and threads on (created_at, id), both newest
first, so page 1,000 costs what page 1 costs. Rows come back as plain tuples with the
member and assignee joined in: one query per page, no N+1.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, literal_column, or_, select, tuple_

from app import merge
from app.extensions import db
from app.models import (
    Broadcast,
    Church,
    Conversation,
    ConversationMessage,
    ConversationNote,
    GroupLeader,
    GroupMember,
    Member,
    User,
)
from app.models.base import escape_like
from app.people.phones import digits

PAGE_SIZE = 50
THREAD_PAGE = 25
STATUSES = ("open", "closed", "archived")
WHO = ("all", "mine", "unassigned")
MIN_TEXT_SEARCH = 3  # characters before a search also reads message text
# The expression the people migration (0002) indexes with pg_trgm; the same text uses that index.
MEMBER_SEARCH_SQL = "(first_name || ' ' || last_name || ' ' || coalesce(email, ''))"


@dataclass(frozen=True)
class ListFilter:
    """What the list shows: status, whose, unread only, a search, and where the page starts."""

    status: str = "open"
    who: str = "all"
    unread: bool = False
    q: str = ""
    before_at: datetime | None = None
    before_id: int | None = None

    @classmethod
    def from_args(cls, args: Any) -> ListFilter:
        status = args.get("status", "open")
        who = args.get("who", "all")
        before_at, before_id = parse_cursor(args.get("before", ""))
        return cls(
            status=status if status in STATUSES else "open",
            who=who if who in WHO else "all",
            unread=args.get("unread") in ("1", "true", "on"),
            q=(args.get("q") or "").strip()[:100],
            before_at=before_at,
            before_id=before_id,
        )

    def params(self, **overrides: Any) -> dict[str, str]:
        """Query-string parameters for links (without the page cursor unless given)."""
        values = {"status": self.status, "who": self.who, "unread": "1" if self.unread else "", "q": self.q}
        values.update(overrides)
        return {k: v for k, v in values.items() if v and not (k == "status" and v == "open") and v != "all"}

    def first_page(self) -> ListFilter:
        return replace(self, before_at=None, before_id=None)


def parse_cursor(raw: str) -> tuple[datetime | None, int | None]:
    at, _, ident = raw.partition("_")
    try:
        return datetime.fromisoformat(at), int(ident)
    except ValueError:
        return None, None


def cursor_of(row: Any) -> str:
    return f"{row.last_message_at.isoformat()}_{row.id}"


@dataclass
class Page:
    rows: list[Any] = field(default_factory=list)
    next_cursor: str | None = None


def _list_columns() -> Select:
    assignee = User.__table__.alias("assignee")
    return (
        select(
            Conversation.id,
            Conversation.status,
            Conversation.unread_count,
            Conversation.last_message_at,
            Conversation.last_message_preview,
            Conversation.assignee_id,
            Member.id.label("member_id"),
            Member.first_name,
            Member.last_name,
            Member.phone_e164,
            Member.is_unknown,
            Member.opted_out_at,
            func.coalesce(assignee.c.name, assignee.c.email).label("assignee_name"),
        )
        .join(Member, Member.id == Conversation.member_id)
        .outerjoin(assignee, assignee.c.id == Conversation.assignee_id)
    )


def visible_to(user: Any) -> Any:
    """Leaders: conversations assigned to them or with members of groups they lead."""
    if user.is_admin:
        return literal_column("true")
    led_members = (
        select(GroupMember.member_id)
        .join(GroupLeader, GroupLeader.group_id == GroupMember.group_id)
        .where(GroupLeader.user_id == user.id)
    )
    return or_(Conversation.assignee_id == user.id, Conversation.member_id.in_(led_members))


def _search(church_id: int, q: str, ids: list[int] | None = None) -> Any:
    """Conversations whose member's name, email or number, or any message's text, contains `q`.

    Message text is searched from MIN_TEXT_SEARCH characters on: a shorter term matches nearly
    every message and no trigram index can help, so one or two letters would read them all.
    `ids` bounds the message search to those conversations (the live poll's changed rows).
    """
    pattern = f"%{escape_like(q)}%"
    member_terms = [literal_column(MEMBER_SEARCH_SQL).ilike(pattern, escape="\\")]
    number = digits(q)
    if len(number) >= 3:
        member_terms.append(Member.phone_e164.like(f"%{number}%"))
    matching_members = select(Member.id).where(Member.church_id == church_id, or_(*member_terms))
    if len(q) < MIN_TEXT_SEARCH:
        return Conversation.member_id.in_(matching_members)
    matching_messages = select(ConversationMessage.conversation_id).where(
        ConversationMessage.church_id == church_id, ConversationMessage.body.ilike(pattern, escape="\\")
    )
    if ids is not None:
        matching_messages = matching_messages.where(ConversationMessage.conversation_id.in_(ids))
    return or_(Conversation.member_id.in_(matching_members), Conversation.id.in_(matching_messages))


def _filtered(church_id: int, user: Any, flt: ListFilter, ids: list[int] | None = None):
    """The list's columns for the conversations this user may see that match the filter (among `ids`)."""
    stmt = _list_columns().where(Conversation.church_id == church_id, Conversation.status == flt.status)
    stmt = stmt.where(visible_to(user))
    if ids is not None:
        stmt = stmt.where(Conversation.id.in_(ids))
    if flt.who == "mine":
        stmt = stmt.where(Conversation.assignee_id == user.id)
    elif flt.who == "unassigned":
        stmt = stmt.where(Conversation.assignee_id.is_(None))
    if flt.unread:
        stmt = stmt.where(Conversation.unread_count > 0)
    if flt.q:
        stmt = stmt.where(_search(church_id, flt.q, ids))
    return stmt


def list_conversations(church_id: int, user: Any, flt: ListFilter, *, limit: int = PAGE_SIZE) -> Page:
    """One page of the list, newest activity first."""
    stmt = _filtered(church_id, user, flt)
    if flt.before_at is not None and flt.before_id is not None:
        stmt = stmt.where(tuple_(Conversation.last_message_at, Conversation.id) < (flt.before_at, flt.before_id))
    stmt = stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(limit + 1)
    rows = db.session.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, cursor_of(rows[-1]) if more and rows else None)


def list_rows_by_id(church_id: int, user: Any, flt: ListFilter, ids: list[int]) -> tuple[list[Any], set[int]]:
    """The changed rows still matching the filter, newest first, and the ids that no longer match."""
    if not ids:
        return [], set()
    stmt = _filtered(church_id, user, flt, ids)
    rows = db.session.execute(stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())).all()
    return rows, set(ids) - {r.id for r in rows}


def list_row(church_id: int, conversation_id: int) -> Any:
    """One list row (after an action on it)."""
    stmt = _list_columns().where(Conversation.church_id == church_id, Conversation.id == conversation_id)
    return db.session.execute(stmt).first()


def unread_count(church_id: int, user: Any) -> int:
    """Open conversations with unread messages that this user can see (the nav badge)."""
    stmt = (
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.church_id == church_id, Conversation.unread_count > 0, Conversation.status == "open")
        .where(visible_to(user))
    )
    return db.session.scalar(stmt) or 0


@dataclass
class Thread:
    items: list[Any]  # ConversationMessage and ConversationNote rows, oldest first
    older_cursor: str | None  # where the next "load older" page starts
    broadcasts: dict[int, str]  # broadcast id -> body, for "reply to" labels
    authors: dict[int, str]  # user id -> display name


def thread_page(conversation: Conversation, before: str | None = None, limit: int = THREAD_PAGE) -> Thread:
    """Messages newest-first by keyset, returned oldest-first with the notes of the same span."""
    stmt = select(ConversationMessage).where(ConversationMessage.conversation_id == conversation.id)
    before_at, before_id = parse_cursor(before or "")
    if before_at is not None:
        stmt = stmt.where(tuple_(ConversationMessage.created_at, ConversationMessage.id) < (before_at, before_id))
    stmt = stmt.order_by(ConversationMessage.created_at.desc(), ConversationMessage.id.desc()).limit(limit + 1)
    messages = list(db.session.scalars(stmt))
    more = len(messages) > limit
    messages = messages[:limit]
    notes_stmt = select(ConversationNote).where(ConversationNote.conversation_id == conversation.id)
    if more and messages:
        notes_stmt = notes_stmt.where(ConversationNote.created_at >= messages[-1].created_at)
    if before_at is not None:
        notes_stmt = notes_stmt.where(ConversationNote.created_at < before_at)
    notes = list(db.session.scalars(notes_stmt))
    items = sorted([*messages, *notes], key=lambda item: (item.created_at, isinstance(item, ConversationNote), item.id))
    older = f"{messages[-1].created_at.isoformat()}_{messages[-1].id}" if more else None
    return Thread(items, older, broadcast_labels(items), author_names(items))


def messages_after(conversation: Conversation, after_id: int, note_after_id: int) -> list[Any]:
    """Messages and notes added to a thread since the client last saw it."""
    messages = db.session.scalars(
        select(ConversationMessage)
        .where(ConversationMessage.conversation_id == conversation.id, ConversationMessage.id > after_id)
        .order_by(ConversationMessage.created_at, ConversationMessage.id)
        .limit(200)
    ).all()
    notes = db.session.scalars(
        select(ConversationNote).where(
            ConversationNote.conversation_id == conversation.id, ConversationNote.id > note_after_id
        )
    ).all()
    return sorted([*messages, *notes], key=lambda item: (item.created_at, item.id))


def pending_messages(conversation: Conversation, limit: int = 20) -> list[ConversationMessage]:
    """Recent outbound messages, whose delivery status may have moved since the last poll."""
    return list(
        db.session.scalars(
            select(ConversationMessage)
            .where(ConversationMessage.conversation_id == conversation.id, ConversationMessage.direction == "out")
            .order_by(ConversationMessage.created_at.desc(), ConversationMessage.id.desc())
            .limit(limit)
        )
    )


def broadcast_labels(items: list[Any]) -> dict[int, str]:
    ids = {i.broadcast_id for i in items if getattr(i, "broadcast_id", None)}
    if not ids:
        return {}
    rows = db.session.execute(
        select(Broadcast.id, Broadcast.title, Broadcast.body, Church.name)
        .join(Church, Church.id == Broadcast.church_id)
        .where(Broadcast.id.in_(ids))
    ).all()
    return {r.id: merge.label(r.title, r.body, r.name) for r in rows}


def author_names(items: list[Any]) -> dict[int, str]:
    ids = {i.author_id for i in items if getattr(i, "author_id", None)}
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.name, User.email).where(User.id.in_(ids))).all()
    return {r.id: r.name or r.email for r in rows}


def latest_broadcast_reply(conversation: Conversation) -> tuple[int, str] | None:
    """The broadcast the member's latest linked message answers (for the reply box context)."""
    row = db.session.execute(
        select(Broadcast.id, Broadcast.title, Broadcast.body, Church.name)
        .join(ConversationMessage, ConversationMessage.broadcast_id == Broadcast.id)
        .join(Church, Church.id == Broadcast.church_id)
        .where(ConversationMessage.conversation_id == conversation.id)
        .order_by(ConversationMessage.created_at.desc())
        .limit(1)
    ).first()
    return (row.id, merge.label(row.title, row.body, row.name)) if row else None


def last_ids(items: list[Any]) -> tuple[int, int]:
    """The highest message id and note id shown, for the poll's "after" parameters."""
    msg = max((i.id for i in items if isinstance(i, ConversationMessage)), default=0)
    note = max((i.id for i in items if isinstance(i, ConversationNote)), default=0)
    return msg, note
