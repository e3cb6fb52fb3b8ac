"""Which broadcasts, and which of their recipients, a user may see.

Owners and admins see the whole church. A leader sees the broadcasts they sent and those that
reached a member of a group they lead, and in the others only those members: the rule the
dashboard applies to its recent broadcasts (`dashboard/figures.py`), here as SQL expressions so
every broadcast page, fragment and count filters through the same few lines.
"""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select, true

from app.extensions import db
from app.models import Broadcast, BroadcastRecipient, Conversation, ConversationMessage, GroupLeader, GroupMember

# Recipient statuses that have a counter column of their own on broadcasts.
COUNTED = ("sent", "delivered", "failed", "skipped", "unknown")


def led_members(user) -> Select:
    """Member ids of the groups `user` leads (a subquery: the ids never travel to Python)."""
    return (
        select(GroupMember.member_id)
        .join(GroupLeader, and_(GroupLeader.group_id == GroupMember.group_id, GroupLeader.user_id == user.id))
        .where(GroupMember.church_id == user.church_id, GroupLeader.church_id == user.church_id)
    )


def sees_everything(user) -> bool:
    return not user.is_leader


def broadcast_visible(user) -> ColumnElement[bool]:
    """Broadcasts `user` may open: any of the church for admins; a leader's own or their groups'."""
    if sees_everything(user):
        return true()
    reached = exists().where(
        BroadcastRecipient.broadcast_id == Broadcast.id, BroadcastRecipient.member_id.in_(led_members(user))
    )
    return or_(Broadcast.created_by_id == user.id, reached)


def recipient_visible(user) -> ColumnElement[bool]:
    """Recipients `user` may see in a visible broadcast: all of their own broadcasts, else their groups'."""
    if sees_everything(user):
        return true()
    sender = select(Broadcast.created_by_id).where(Broadcast.id == BroadcastRecipient.broadcast_id).scalar_subquery()
    return or_(sender == user.id, BroadcastRecipient.member_id.in_(led_members(user)))


def is_partial(user, broadcast: Broadcast) -> bool:
    """Whether `user` sees only part of this broadcast's recipients (a leader, someone else's broadcast)."""
    return not sees_everything(user) and broadcast.created_by_id != user.id


def visible_counts(user, broadcasts: list[Broadcast]) -> dict[int, SimpleNamespace]:
    """Counter columns as `user` sees them, for broadcast_progress; one GROUP BY for every partial one.

    Broadcasts seen whole keep their own counters; the others get counts of the visible recipients
    only, in the same shape.
    """
    partial = [b.id for b in broadcasts if is_partial(user, b)]
    counts: dict[int, dict[str, int]] = {bid: {} for bid in partial}
    if partial:
        rows = db.session.execute(
            select(BroadcastRecipient.broadcast_id, BroadcastRecipient.status, func.count())
            .where(BroadcastRecipient.broadcast_id.in_(partial), recipient_visible(user))
            .group_by(BroadcastRecipient.broadcast_id, BroadcastRecipient.status)
        )
        for bid, status, n in rows:
            counts[bid][status] = int(n)
    out: dict[int, SimpleNamespace] = {}
    for b in broadcasts:
        if b.id not in counts:
            out[b.id] = b
            continue
        n = counts[b.id]
        out[b.id] = SimpleNamespace(
            status=b.status,
            completed_at=b.completed_at,
            recipient_count=sum(n.values()),
            **{f"{s}_count": n.get(s, 0) for s in COUNTED},
        )
    return out


def reply_visible(user) -> ColumnElement[bool]:
    """Replies `user` may count: all for admins; for a leader, those of members they may see."""
    if sees_everything(user):
        return true()
    member = select(Conversation.member_id).where(Conversation.id == ConversationMessage.conversation_id)
    sender = select(Broadcast.created_by_id).where(Broadcast.id == ConversationMessage.broadcast_id)
    return or_(sender.scalar_subquery() == user.id, member.scalar_subquery().in_(led_members(user)))
