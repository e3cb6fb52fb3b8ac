"""Inbound texts (`message.received`): route, store once, link to broadcasts, apply keywords.

`handle_received` runs inside the webhook processor's transaction. Everything it does to the
database commits or rolls back with the event; Redis (cache versions) and RQ (the
auto-replies) are touched only after that commit (app.cache, app.jobs).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, text
from sqlalchemy.dialects.postgresql import insert

from app import cache, stats
from app.extensions import db
from app.inbox.services import PREVIEW_LEN, queue_outbound
from app.jobs import enqueue_after_commit
from app.keywords import services as keywords
from app.models import Church, Conversation, ConversationMessage, Member, PhoneNumber, PushSubscription
from app.outbound_webhooks import events as webhook_events
from app.security.masking import mask_phone

log = logging.getLogger(__name__)

REPLY_WINDOW = timedelta(hours=72)
# By its dotted path: the notifications package builds on the inbox, not the other way round.
PUSH_JOB = "app.notifications.push.notify_inbound"


def handle_received(payload: dict[str, Any], event: Any = None) -> ConversationMessage | None:
    """Store one inbound message (idempotent on its provider id); None when there is nothing to do."""
    from_e164 = ((payload.get("from") or {}).get("phone_number") or "").strip()
    to_e164 = _to_number(payload)
    provider_id = payload.get("id") or None
    if not from_e164 or not to_e164:
        log.warning("message.received without from/to; ignored", extra={"provider_message_id": provider_id})
        return None
    number = db.session.scalar(select(PhoneNumber).where(PhoneNumber.e164 == to_e164))
    if number is None:
        log.warning("message.received for a number no church owns: %s", mask_phone(to_e164))
        return None
    if provider_id and db.session.scalar(
        select(ConversationMessage.id).where(ConversationMessage.provider_message_id == provider_id)
    ):
        return None
    church = db.session.get(Church, number.church_id)
    at = _received_at(payload)
    member = find_or_create_member(church, from_e164, number.branch_id)
    conversation = find_or_open_conversation(church.id, member.id, number)
    body = payload.get("text") or ""
    broadcast_id = recent_broadcast_id(church.id, member.id, at)
    message = _insert_message(church.id, conversation.id, provider_id, body, _media(payload), broadcast_id, at)
    if message is None:  # the same event, stored by a concurrent delivery
        return None
    _touch_conversation(conversation, body, message.media, at)
    if broadcast_id and conversation.assignee_id is None:
        conversation.assignee_id = broadcast_group_leader(church.id, broadcast_id, member.id)
    stats.bump(church.id, stats.church_day(church.timezone, at), inbound=1)
    webhook_events.message_received(message, member, number.e164)
    result = keywords.apply_keyword(church, member, conversation, number, body, at)
    if result.reply:
        queue_outbound(conversation, member, result.reply, from_e164=number.e164, author_id=None)
    if conversation.assignee_id and has_push_devices(conversation.assignee_id):
        # Push to the assignee's phone from a worker, once this transaction has committed.
        enqueue_after_commit("default", PUSH_JOB, message.id, job_timeout=120, result_ttl=0)
    # The member and message were inserted set-based (ON CONFLICT): the registry does not see them.
    cache.bump(("members", church.id), ("conversation", church.id, conversation.id))
    log.info(
        "inbound message stored",
        extra={"church_id": church.id, "conversation_id": conversation.id, "keyword": result.kind},
    )
    return message


def has_push_devices(user_id: int) -> bool:
    """Whether any browser takes this user's push notifications (no job is queued for nobody)."""
    return bool(db.session.scalar(select(exists().where(PushSubscription.user_id == user_id))))


def _to_number(payload: dict[str, Any]) -> str:
    to = payload.get("to")
    if isinstance(to, list) and to:
        first = to[0]
        return ((first.get("phone_number") if isinstance(first, dict) else first) or "").strip()
    if isinstance(to, dict):
        return (to.get("phone_number") or "").strip()
    return (to or "").strip() if isinstance(to, str) else ""


def _received_at(payload: dict[str, Any]) -> datetime:
    raw = payload.get("received_at")
    if isinstance(raw, str) and raw:
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


def _media(payload: dict[str, Any]) -> list[dict[str, Any]]:
    items = []
    for item in payload.get("media") or []:
        if isinstance(item, str):
            item = {"url": item}
        if isinstance(item, dict) and item.get("url"):
            items.append({k: item.get(k) for k in ("url", "content_type", "size")})
    return items


def find_or_create_member(church: Church, phone_e164: str, branch_id: int | None) -> Member:
    """The member texting in, or a new "unknown contact" an admin can complete later."""
    stmt = (
        insert(Member)
        .values(church_id=church.id, phone_e164=phone_e164, is_unknown=True, branch_id=branch_id)
        .on_conflict_do_nothing(index_elements=["church_id", "phone_e164"])
        .returning(Member.id)
    )
    inserted = db.session.scalar(stmt)
    member = db.session.scalars(
        select(Member).where(Member.church_id == church.id, Member.phone_e164 == phone_e164)
    ).one()
    if inserted is not None:
        webhook_events.member_created(member, "inbound")
    return member


def find_or_open_conversation(church_id: int, member_id: int, number: PhoneNumber) -> Conversation:
    """The one conversation per member per church number, opened if it does not exist."""
    stmt = (
        insert(Conversation)
        .values(church_id=church_id, member_id=member_id, phone_number_id=number.id, branch_id=number.branch_id)
        .on_conflict_do_nothing(index_elements=["member_id", "phone_number_id"])
    )
    db.session.execute(stmt)
    return db.session.scalars(
        select(Conversation)
        .where(Conversation.member_id == member_id, Conversation.phone_number_id == number.id)
        .with_for_update()
    ).one()


def _insert_message(
    church_id: int,
    conversation_id: int,
    provider_id: str | None,
    body: str,
    media: list[dict[str, Any]],
    broadcast_id: int | None,
    at: datetime,
) -> ConversationMessage | None:
    stmt = (
        insert(ConversationMessage)
        .values(
            church_id=church_id,
            conversation_id=conversation_id,
            direction="in",
            body=body,
            media=media,
            status="received",
            provider_message_id=provider_id,
            broadcast_id=broadcast_id,
            created_at=at,
        )
        .on_conflict_do_nothing(index_elements=["provider_message_id"])
        .returning(ConversationMessage.id)
    )
    message_id = db.session.scalar(stmt)
    return db.session.get(ConversationMessage, message_id) if message_id else None


def _touch_conversation(conversation: Conversation, body: str, media: list[dict[str, Any]], at: datetime) -> None:
    conversation.unread_count = (conversation.unread_count or 0) + 1
    # The first unread text starts the spell that unread-text mails count from.
    conversation.unread_since = conversation.unread_since or at
    conversation.last_message_at = max(at, conversation.last_message_at or at)
    conversation.last_inbound_at = at
    conversation.last_message_preview = preview_of(body, media)
    # A member writing again brings a closed or archived thread back to the open list.
    conversation.status = "open"


def preview_of(body: str, media: list[dict[str, Any]]) -> str:
    """One line for the list: the text, or what the media is."""
    line = " ".join((body or "").split())
    if not line and media:
        line = "📷 Photo" if str(media[0].get("content_type") or "").startswith("image/") else "📎 Attachment"
    return line[:PREVIEW_LEN]


def recent_broadcast_id(church_id: int, member_id: int, at: datetime) -> int | None:
    """The broadcast this member most recently received within the reply window, if any."""
    return db.session.execute(
        text(
            """
            SELECT br.broadcast_id
            FROM broadcast_recipients br JOIN broadcasts b ON b.id = br.broadcast_id
            WHERE br.member_id = :member_id AND br.church_id = :church_id
              AND br.status IN ('sending', 'sent', 'delivered', 'unknown')
              AND COALESCE(br.sent_at, b.started_at, b.created_at) BETWEEN :since AND :until
            ORDER BY COALESCE(br.sent_at, b.started_at, b.created_at) DESC, br.id DESC
            LIMIT 1
            """
        ),
        {
            "member_id": member_id,
            "church_id": church_id,
            "since": at - REPLY_WINDOW,
            "until": at + timedelta(minutes=5),
        },
    ).scalar()


def broadcast_group_leader(church_id: int, broadcast_id: int, member_id: int) -> int | None:
    """A leader of a group in the broadcast's audience that the member belongs to (None if none)."""
    audience = db.session.execute(
        text("SELECT audience FROM broadcasts WHERE id = :id AND church_id = :church_id"),
        {"id": broadcast_id, "church_id": church_id},
    ).scalar()
    group_ids = audience_group_ids(audience or {})
    if not group_ids:
        return None
    return db.session.execute(
        text(
            """
            SELECT gl.user_id
            FROM group_leaders gl
            JOIN group_members gm ON gm.group_id = gl.group_id AND gm.member_id = :member_id
            JOIN users u ON u.id = gl.user_id AND u.active
            WHERE gl.church_id = :church_id AND gl.group_id = ANY(:group_ids)
            ORDER BY array_position(:group_ids, gl.group_id), gl.created_at, gl.user_id
            LIMIT 1
            """
        ),
        {"member_id": member_id, "church_id": church_id, "group_ids": group_ids},
    ).scalar()


def audience_group_ids(audience: dict[str, Any]) -> list[int]:
    """Group ids named by a broadcast's audience spec ({"group_ids": [...]} or {"groups": [...]})."""
    raw = audience.get("group_ids") or audience.get("groups") or []
    if isinstance(raw, int | str):
        raw = [raw]
    ids = []
    for value in raw:
        value = value.get("id") if isinstance(value, dict) else value
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            continue
    return ids
