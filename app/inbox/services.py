"""Inbox actions: replies, notes, assignment, status, read state.

Services take plain values and the session, never `request`, so routes, jobs and tests call
them alike. What a change moves in the cache (threads, lists, the live poll) follows from the rows
written (app.cache.registry); nothing here has to say so.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import exists, select

from app import media
from app.billing import allowance
from app.delivery.segments import analyze
from app.errors import PermissionDenied, ValidationError
from app.extensions import db
from app.jobs import enqueue_after_commit
from app.keywords import card_consent
from app.models import (
    Church,
    Conversation,
    ConversationMessage,
    ConversationNote,
    GroupLeader,
    GroupMember,
    Member,
    PhoneNumber,
    Template,
    User,
)

PREVIEW_LEN = 160
MAX_BODY = 1600
SEND_QUEUE = "high"
STATUSES = ("open", "closed", "archived")


def can_see(user: User, conversation: Conversation) -> bool:
    """Admins see every conversation; leaders those of their groups' members and their own."""
    if user.is_admin or conversation.assignee_id == user.id:
        return True
    leads_member = exists().where(
        GroupMember.member_id == conversation.member_id,
        GroupMember.group_id == GroupLeader.group_id,
        GroupLeader.user_id == user.id,
    )
    return bool(db.session.scalar(select(leads_member)))


def opt_out_reason(member: Member) -> str | None:
    """Why this member cannot be texted, or None."""
    if member.opted_out_at is not None and card_consent.never_consented_by_card(member):
        return f"{member.full_name} has not agreed to texts yet: they get them once they reply YES to the connect card."
    if member.opted_out_at is not None:
        when = member.opted_out_at.strftime("%b %-d, %Y")
        return f"{member.full_name} opted out on {when} (texted a STOP keyword). They must text START to get replies."
    if not member.phone_e164:
        return "This member has no phone number."
    return None


def queue_outbound(
    conversation: Conversation,
    member: Member,
    body: str,
    *,
    from_e164: str | None,
    author_id: int | None,
    api_key_id: int | None = None,
    automated: bool = False,
    media: list[dict] | None = None,
) -> ConversationMessage:
    """Insert an outbound message as 'sending' and send it from the high queue after commit.

    `automated`: sent by an automation, so, like a staff reply, refused at send time to someone opted out.
    """
    now = datetime.now(UTC)
    message = ConversationMessage(
        church_id=conversation.church_id,
        conversation_id=conversation.id,
        direction="out",
        body=body,
        media=list(media or []),
        status="sending",
        author_id=author_id,
        api_key_id=api_key_id,
        automated=automated,
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    conversation.last_message_at = now
    conversation.last_message_preview = " ".join(body.split())[:PREVIEW_LEN] or ("[Picture]" if media else "")
    if not message.is_automatic and conversation.first_response_at is None and conversation.last_inbound_at:
        conversation.first_response_at = now
    enqueue_after_commit(SEND_QUEUE, "app.inbox.tasks.send_message", message.id, job_timeout=60)
    return message


def reply(
    conversation: Conversation,
    user: User,
    body: str,
    media: list[dict] | None = None,
    *,
    api_key_id: int | None = None,
) -> ConversationMessage:
    """A staff reply, with a picture (`app.media` items) or not: refused for opted-out members,
    empty or over-long bodies, or no allowance left. With a picture it goes as one MMS.

    Through the API, `user` is the key acting for its church and `api_key_id` the key's id.
    """
    body = (body or "").strip()
    member = db.session.get(Member, conversation.member_id)
    reason = opt_out_reason(member)
    if reason:
        raise PermissionDenied(reason)
    if not body and not media:
        raise ValidationError("Write a message first.", details={"body": ["Write a message first."]})
    if len(body) > MAX_BODY:
        message = f"Keep replies under {MAX_BODY} characters."
        raise ValidationError(message, details={"body": [message]})
    church = db.session.get(Church, conversation.church_id)
    # An MMS is one message whatever its text's length, as the composer counts it.
    check = allowance.check(church, 1 if media else analyze(body).segments)
    if not check.ok:
        message = check.reason or "The church's monthly allowance is used up."
        raise ValidationError(message, details={"allowance": [message]})
    return queue_outbound(
        conversation,
        member,
        body,
        from_e164=sending_number(conversation),
        author_id=user.id,
        api_key_id=api_key_id,
        media=media,
    )


def attachments(church_id: int, upload, url: str | None) -> list[dict]:
    """The picture a reply carries: an uploaded file (checked and kept) or an https:// link; at most one."""
    if upload is not None and getattr(upload, "filename", ""):
        return [media.save(church_id, upload.stream)]
    if (url or "").strip():
        return [media.link(url)]
    return []


def sending_number(conversation: Conversation) -> str | None:
    """The church number this conversation is on (its default number if that was removed)."""
    if conversation.phone_number_id:
        number = db.session.get(PhoneNumber, conversation.phone_number_id)
        if number is not None:
            return number.e164
    return db.session.scalar(
        select(PhoneNumber.e164)
        .where(PhoneNumber.church_id == conversation.church_id)
        .order_by(PhoneNumber.is_default.desc(), PhoneNumber.id)
        .limit(1)
    )


def add_note(conversation: Conversation, user: User, body: str) -> ConversationNote:
    """An internal note: staff only, never sent."""
    body = (body or "").strip()
    if not body:
        raise ValidationError("Write the note first.")
    note = ConversationNote(
        church_id=conversation.church_id, conversation_id=conversation.id, author_id=user.id, body=body[:5000]
    )
    db.session.add(note)
    db.session.flush()
    return note


def delete_note(note: ConversationNote, user: User) -> None:
    """Authors and admins may remove a note."""
    if note.author_id != user.id and not user.is_admin:
        raise PermissionDenied("Only the author or an admin can delete this note.")
    db.session.delete(note)


def assignable_users(church_id: int) -> list[User]:
    """Everyone who can take a conversation: active owners, admins and leaders."""
    return list(
        db.session.scalars(
            select(User).where(User.church_id == church_id, User.active).order_by(User.role.desc(), User.name)
        )
    )


def assign(conversation: Conversation, assignee_id: int | None) -> None:
    """Give the conversation to a user of the same church (None: unassign)."""
    if assignee_id is not None:
        user = db.session.get(User, assignee_id)
        if user is None or user.church_id != conversation.church_id or not user.active:
            raise ValidationError("Choose someone from your church.")
    conversation.assignee_id = assignee_id


def set_status(conversation: Conversation, status: str) -> None:
    """Open, close or archive a conversation."""
    if status not in STATUSES:
        raise ValidationError("Unknown status.")
    conversation.status = status


def mark_read(conversation: Conversation) -> bool:
    """Clear the unread count (and end the unread spell mails wait on); True when it changed."""
    if not conversation.unread_count:
        return False
    conversation.unread_count = 0
    conversation.unread_since = None
    return True


def mark_unread(conversation: Conversation) -> None:
    """Flag the conversation for attention again (a reminder to oneself: no mail comes of it)."""
    conversation.unread_count = max(conversation.unread_count or 0, 1)


def canned_replies(church_id: int) -> list[Template]:
    """The church's templates, offered as canned replies."""
    return list(db.session.scalars(select(Template).where(Template.church_id == church_id).order_by(Template.name)))
