"""One conversation's thread as CSV: every message, in and out, with who wrote it and what became of it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from flask import Response
from sqlalchemy import Select, func, select

from app import audit
from app.csv_export import ExportLock, stream, when
from app.delivery.errors import describe
from app.models import Conversation, ConversationMessage, Member, User

HEADER = ["at", "direction", "from", "body", "media", "status", "reason"]


def thread_select(conversation: Conversation) -> Select:
    """The thread's messages, oldest first, with the member's and each staff author's names."""
    member = select(func.concat_ws(" ", Member.first_name, Member.last_name)).where(Member.id == conversation.member_id)
    return (
        select(
            ConversationMessage.created_at,
            ConversationMessage.direction,
            func.coalesce(User.name, User.email),
            member.scalar_subquery(),
            ConversationMessage.body,
            func.jsonb_array_length(ConversationMessage.media),
            ConversationMessage.status,
            ConversationMessage.error_code,
        )
        .outerjoin(User, User.id == ConversationMessage.author_id)
        .where(
            ConversationMessage.church_id == conversation.church_id,
            ConversationMessage.conversation_id == conversation.id,
        )
        .order_by(ConversationMessage.created_at, ConversationMessage.id)
    )


def thread_rows(result: Iterable[tuple]) -> Iterator[list[object]]:
    """CSV cells per message: an inbound one is from the member, an outbound one from its author."""
    for at, direction, author, member, body, media, status, code in result:
        inbound = direction == "in"
        yield [
            when(at),
            "in" if inbound else "out",
            (member if inbound else author or "Koinonia") or "",
            body or "",
            media or 0,
            status or "",
            describe(code) if status == "failed" else "",
        ]


def export_response(actor: User, conversation: Conversation) -> Response:
    """A streamed CSV of the thread (the caller checked the user may see it)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    lock = ExportLock("conversation", actor.id, "Your thread export is still downloading. Try again when it ends.")
    return stream(
        actor,
        lock,
        lambda: audit.record("conversation.exported", target=conversation, actor=actor),
        thread_select(conversation),
        HEADER,
        thread_rows,
        f"conversation-{conversation.id}-{stamp}.csv",
    )
