"""/api/v1/conversations: the shared inbox's threads, their messages, and replies through the inbox's path."""

from __future__ import annotations

from flask import abort
from flask.views import MethodView
from sqlalchemy import select

from app.api.v1 import message_schemas as schemas
from app.api.v1.auth import actor, blueprint, requires
from app.api.v1.paging import decode_cursor, page_of
from app.api.v1.schemas import PageArgs
from app.errors import Conflict, PermissionDenied
from app.extensions import db
from app.inbox import services
from app.models import Conversation, ConversationMessage, Member
from app.tenancy import scoped

blp = blueprint("conversations", "Two-way texts with members (the inbox): threads, messages and replies.")


def conversation_view(conversation: Conversation, member: Member) -> dict:
    return {
        "id": conversation.id,
        "status": conversation.status,
        "unread_count": conversation.unread_count,
        "assignee_id": conversation.assignee_id,
        "last_message_at": conversation.last_message_at,
        "last_message_preview": conversation.last_message_preview,
        "member": member,
    }


def _sent_by(message: ConversationMessage) -> str:
    if message.direction == "in":
        return "member"
    if message.author_id is not None:
        return "staff"
    return "api" if message.api_key_id is not None else "automatic"


def message_view(message: ConversationMessage) -> dict:
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "direction": message.direction,
        "body": message.body,
        "media_urls": [m["url"] for m in message.media or [] if isinstance(m, dict) and m.get("url")],
        "status": message.status,
        "error_code": message.error_code,
        "sent_by": _sent_by(message),
        "broadcast_id": message.broadcast_id,
        "created_at": message.created_at,
    }


def _conversation(conversation_id: int) -> tuple[Conversation, Member]:
    row = db.session.execute(
        scoped(Conversation, actor().church_id)
        .add_columns(Member)
        .join(Member, Member.id == Conversation.member_id)
        .where(Conversation.id == conversation_id)
    ).first()
    if row is None:
        abort(404)
    return row[0], row[1]


@blp.route("/conversations", methods=["GET"])
@blp.arguments(schemas.ConversationListArgs, location="query", as_kwargs=True)
@blp.response(200, schemas.ConversationPage)
@requires("read")
def list_conversations(limit: int, cursor: str | None = None, status=None, assigned=None, unread=None):
    """List conversations, newest first (by when they began). Scope: `read`."""
    stmt = scoped(Conversation, actor().church_id)
    if status is not None:
        stmt = stmt.where(Conversation.status == status)
    if assigned is not None:
        stmt = stmt.where(Conversation.assignee_id.is_not(None) if assigned else Conversation.assignee_id.is_(None))
    if unread is not None:
        stmt = stmt.where(Conversation.unread_count > 0 if unread else Conversation.unread_count == 0)
    found = page_of(stmt, Conversation.id, decode_cursor(cursor), limit, newest_first=True)
    member_ids = {c.member_id for c in found["data"]}
    members = {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(member_ids)))}
    return {**found, "data": [conversation_view(c, members[c.member_id]) for c in found["data"]]}


@blp.route("/conversations/<int:conversation_id>", methods=["GET"])
@blp.response(200, schemas.ConversationOne)
@requires("read")
def get_conversation(conversation_id: int):
    """One conversation and its member. Scope: `read`."""
    return {"data": conversation_view(*_conversation(conversation_id))}


@blp.route("/conversations/<int:conversation_id>/messages")
class Messages(MethodView):
    @blp.arguments(PageArgs, location="query", as_kwargs=True)
    @blp.response(200, schemas.MessagePage)
    @requires("read")
    def get(self, conversation_id: int, limit: int, cursor: str | None = None):
        """The conversation's texts, newest first; `next_cursor` pages back in time. Scope: `read`."""
        conversation, _ = _conversation(conversation_id)
        stmt = select(ConversationMessage).where(
            ConversationMessage.church_id == conversation.church_id,
            ConversationMessage.conversation_id == conversation.id,
        )
        found = page_of(stmt, ConversationMessage.id, decode_cursor(cursor), limit, newest_first=True)
        return {**found, "data": [message_view(m) for m in found["data"]]}

    @blp.arguments(schemas.ReplyInputSchema)
    @blp.response(201, schemas.MessageOne)
    @requires("messages:send")
    def post(self, fields: dict, conversation_id: int):
        """Reply to the member, as the inbox's reply box does. Scope: `messages:send`.

        The reply is queued (`status` "sending") and goes out within seconds. A member who
        opted out answers 409; past the plan's allowance, 422 with `details.allowance`.
        Replies are one-to-one answers: quiet hours, which hold broadcasts, do not hold them.
        """
        conversation, _ = _conversation(conversation_id)
        try:
            message = services.reply(conversation, actor(), fields["body"], api_key_id=actor().key.id)
        except PermissionDenied as err:
            raise Conflict(err.message, details={"member": [err.message]}) from None
        db.session.commit()
        return {"data": message_view(message)}, 201
