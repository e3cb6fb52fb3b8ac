"""What the member page shows besides the member: groups, consent history, conversations, broadcasts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Branch,
    Broadcast,
    BroadcastRecipient,
    ConsentEvent,
    Conversation,
    Group,
    GroupMember,
    Member,
    User,
)

RECENT_BROADCASTS = 10
CONSENT_HISTORY = 50


@dataclass(frozen=True)
class ConsentLine:
    action: str
    source: str
    at: datetime
    keyword: str | None
    number: str | None
    detail: str | None
    by: str | None


@dataclass(frozen=True)
class ReceivedBroadcast:
    broadcast_id: int
    body: str
    status: str
    at: datetime | None
    error_code: str | None


@dataclass(frozen=True)
class MemberDetails:
    member: Member
    branch: Branch | None
    groups: list[Group]
    consent: list[ConsentLine]
    conversation_ids: list[int]
    broadcasts: list[ReceivedBroadcast]


def member_details(member: Member) -> MemberDetails:
    """Everything the member page shows, a handful of indexed queries."""
    groups = db.session.scalars(
        select(Group)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.member_id == member.id, Group.church_id == member.church_id)
        .order_by(Group.name)
    ).all()
    consent = [
        ConsentLine(e.action, e.source, e.created_at, e.keyword, e.phone_number, e.detail, by)
        for e, by in db.session.execute(
            select(ConsentEvent, User.name)
            .outerjoin(User, User.id == ConsentEvent.user_id)
            .where(ConsentEvent.member_id == member.id, ConsentEvent.church_id == member.church_id)
            .order_by(ConsentEvent.created_at.desc(), ConsentEvent.id.desc())
            .limit(CONSENT_HISTORY)
        )
    ]
    conversation_ids = db.session.scalars(
        select(Conversation.id)
        .where(Conversation.member_id == member.id, Conversation.church_id == member.church_id)
        .order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc())
    ).all()
    received = db.session.execute(
        select(BroadcastRecipient, Broadcast.body, Broadcast.created_at)
        .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
        .where(BroadcastRecipient.member_id == member.id, BroadcastRecipient.church_id == member.church_id)
        .order_by(BroadcastRecipient.id.desc())
        .limit(RECENT_BROADCASTS)
    ).all()
    broadcasts = [
        ReceivedBroadcast(r.broadcast_id, body, r.status, r.delivered_at or r.sent_at or created, r.error_code)
        for r, body, created in received
    ]
    branch = db.session.get(Branch, member.branch_id) if member.branch_id else None
    return MemberDetails(member, branch, list(groups), consent, list(conversation_ids), broadcasts)
