"""The broadcasts list and one broadcast's page: what they read, limited to what the user may see.

Who sees which broadcast and which of its recipients is decided in `visibility.py`; this module
only applies it, so the list, the page, its progress fragment and the counts agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort
from sqlalchemy import ColumnElement, func, select, true

from app import merge
from app.broadcasts.audience import AudienceSpec
from app.broadcasts.control import retryable_failed_members
from app.broadcasts.pages import can_compose, can_manage, describe_audience
from app.broadcasts.quiet_hours import quiet_until
from app.broadcasts.schedules import describe
from app.broadcasts.services import broadcast_progress
from app.broadcasts.visibility import broadcast_visible, recipient_visible, reply_visible, visible_counts
from app.extensions import db
from app.models import (
    Broadcast,
    BroadcastRecipient,
    Church,
    ConversationMessage,
    LinkCode,
    Member,
    Schedule,
    TrackedLink,
)
from app.people.custom_fields import member_merge_values, merge_fields

PAGE_SIZE = 25
FAILED_SHOWN = 100


@dataclass
class Row:
    broadcast: Broadcast
    progress: dict
    replies: int

    @property
    def recipients(self) -> int:
        return self.progress["total"]

    @property
    def delivered_percent(self) -> int:
        total = self.progress["total"]
        return round(100 * self.progress["delivered"] / total) if total else 0


@dataclass
class Page:
    rows: list[Row] = field(default_factory=list)
    next_before: int | None = None


def reply_counts(
    church_id: int, broadcast_ids: list[int], visible: ColumnElement[bool] | None = None
) -> dict[int, int]:
    """Inbound messages that answer each broadcast (only those `visible` lets through)."""
    if not broadcast_ids:
        return {}
    rows = db.session.execute(
        select(ConversationMessage.broadcast_id, func.count())
        .where(
            ConversationMessage.church_id == church_id,
            ConversationMessage.broadcast_id.in_(broadcast_ids),
            ConversationMessage.direction == "in",
            true() if visible is None else visible,
        )
        .group_by(ConversationMessage.broadcast_id)
    )
    return dict(rows.all())


def visible_broadcast_or_404(user, broadcast_id: int) -> Broadcast:
    """One broadcast of the user's church that they may see (visibility.py), or 404."""
    broadcast = db.session.scalar(
        select(Broadcast).where(
            Broadcast.church_id == user.church_id, Broadcast.id == broadcast_id, broadcast_visible(user)
        )
    )
    if broadcast is None:
        abort(404)
    return broadcast


def broadcast_page(user, before: int | None) -> Page:
    """One page of the broadcasts `user` may see, newest first, keyset on id (ids grow with creation time)."""
    stmt = (
        select(Broadcast)
        .where(Broadcast.church_id == user.church_id, broadcast_visible(user))
        .order_by(Broadcast.id.desc())
        .limit(PAGE_SIZE + 1)
    )
    if before:
        stmt = stmt.where(Broadcast.id < before)
    broadcasts = db.session.scalars(stmt).all()
    more = len(broadcasts) > PAGE_SIZE
    broadcasts = broadcasts[:PAGE_SIZE]
    ids = [b.id for b in broadcasts]
    replies = reply_counts(user.church_id, ids, reply_visible(user))
    # Progress comes from the counter columns (no scan of recipients per row), or for the
    # broadcasts a leader sees only part of, from one count of the part they see.
    counts = visible_counts(user, broadcasts)
    rows = [Row(b, broadcast_progress(counts[b.id]), replies.get(b.id, 0)) for b in broadcasts]
    return Page(rows, ids[-1] if more else None)


def schedules(user) -> list[tuple[Schedule, str]]:
    """Repeating broadcasts with a readable description of their rule (a leader's own only)."""
    stmt = select(Schedule).where(Schedule.church_id == user.church_id)
    if user.is_leader:
        stmt = stmt.where(Schedule.created_by_id == user.id)
    rows = db.session.scalars(stmt.order_by(Schedule.next_run_at.nulls_last(), Schedule.id)).all()
    return [(s, describe(s.rrule)) for s in rows]


def preview(broadcast: Broadcast, user) -> dict:
    """The body as one recipient the user may see received it ("preview_for" names them), or with placeholders."""
    church = db.session.get(Church, broadcast.church_id)
    custom = merge_fields(broadcast.church_id)
    if not merge.has_fields(broadcast.body, custom.keys):
        return {"preview_body": broadcast.body, "preview_for": None}
    sample = db.session.scalar(
        select(Member)
        .join(BroadcastRecipient, BroadcastRecipient.member_id == Member.id)
        .where(BroadcastRecipient.broadcast_id == broadcast.id, recipient_visible(user))
        .order_by(BroadcastRecipient.id)
        .limit(1)
    )
    if sample is None:
        placeholders = merge.placeholders(broadcast.body, church.name, custom.placeholders)
        return {"preview_body": placeholders, "preview_for": None}
    name = " ".join(filter(None, [sample.first_name, (sample.last_name or "")[:1] + "." if sample.last_name else ""]))
    values = member_merge_values(church.id, sample.id)
    body = merge.render(broadcast.body, sample, church, values, custom.keys)
    return {"preview_body": body, "preview_for": name or "a recipient"}


def link_clicks(broadcast: Broadcast, user) -> list:
    """Per tracked link: clicks and unique clickers (people), and preview or bot fetches apart,
    over the recipients `user` may see. One grouped query over the links' codes."""
    if not broadcast.track_links:
        return []
    return db.session.execute(
        select(
            TrackedLink.url,
            func.coalesce(func.sum(LinkCode.clicks), 0).label("clicks"),
            func.count().filter(LinkCode.clicks > 0).label("clickers"),
            func.coalesce(func.sum(LinkCode.bot_clicks), 0).label("bot_clicks"),
        )
        .join(LinkCode, LinkCode.link_id == TrackedLink.id)
        .join(BroadcastRecipient, BroadcastRecipient.id == LinkCode.recipient_id)
        .where(
            TrackedLink.church_id == broadcast.church_id,
            TrackedLink.broadcast_id == broadcast.id,
            recipient_visible(user),
        )
        .group_by(TrackedLink.id, TrackedLink.url, TrackedLink.position)
        .order_by(TrackedLink.position)
    ).all()


def detail(broadcast: Broadcast, user) -> dict:
    """Context for the detail page and its progress partial, limited to what `user` may see."""
    failed = db.session.execute(
        select(BroadcastRecipient, Member)
        .outerjoin(Member, Member.id == BroadcastRecipient.member_id)
        .where(
            BroadcastRecipient.broadcast_id == broadcast.id,
            BroadcastRecipient.status == "failed",
            recipient_visible(user),
        )
        .order_by(BroadcastRecipient.id)
        .limit(FAILED_SHOWN)
    ).all()
    progress = broadcast_progress(visible_counts(user, [broadcast])[broadcast.id])
    held_until = None
    if broadcast.status == "sending" and progress["queued"]:
        held_until = quiet_until(db.session.get(Church, broadcast.church_id))
    replies = reply_counts(broadcast.church_id, [broadcast.id], reply_visible(user))
    manage = can_manage(user, broadcast)
    return {
        "broadcast": broadcast,
        **preview(broadcast, user),
        "held_until": held_until,
        "progress": progress,
        "failed": failed,
        "links": link_clicks(broadcast, user),
        "replies": replies.get(broadcast.id, 0),
        "audience_names": describe_audience(AudienceSpec.from_dict(broadcast.audience), broadcast.church_id),
        "can_cancel": broadcast.status in ("scheduled", "sending", "paused") and not progress["done"] and manage,
        "can_edit": broadcast.status == "scheduled" and manage and can_compose(user),
        "can_pause": broadcast.status == "sending" and not progress["done"] and manage,
        "can_resume": broadcast.status == "paused" and manage,
        "can_resend": manage and bool(retryable_failed_members(broadcast, limit=1)),
    }
