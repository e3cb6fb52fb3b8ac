"""Templates, broadcasts, their recipients and recurring schedules."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin, status_check

BROADCAST_STATUSES = ("draft", "scheduled", "sending", "paused", "sent", "cancelled")
RECIPIENT_STATUSES = ("queued", "sending", "sent", "delivered", "failed", "skipped", "unknown")


class Template(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "templates"

    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Schedule(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "schedules"
    __table_args__ = (
        Index("ix_schedules_next_run_at", "next_run_at", postgresql_where=text("enabled")),
        Index("uq_schedules_church_id_idempotency_key", "church_id", "idempotency_key", unique=True),
    )

    body: Mapped[str] = mapped_column(Text)
    media_urls: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    audience: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    rrule: Mapped[str] = mapped_column(Text, comment="RFC 5545 rule, in the church's timezone")
    next_run_at: Mapped[datetime | None]
    until: Mapped[datetime | None]
    enabled: Mapped[bool] = mapped_column(default=True, server_default="true")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_run_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    # Each run's broadcast tracks its links (see Broadcast.track_links).
    track_links: Mapped[bool] = mapped_column(default=False, server_default="false")


class Broadcast(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint(status_check("status", BROADCAST_STATUSES), name="status"),
        # A double-submitted form carries the same key: one broadcast, never two.
        Index("uq_broadcasts_church_id_idempotency_key", "church_id", "idempotency_key", unique=True),
        # Each occurrence of a recurring schedule runs once, however many workers race for it.
        Index("uq_broadcasts_schedule_id_occurrence_at", "schedule_id", "occurrence_at", unique=True),
        Index("ix_broadcasts_church_id_created_at", "church_id", text("created_at DESC")),
        Index("ix_broadcasts_due", "scheduled_at", postgresql_where=text("status = 'scheduled'")),
        Index(
            "ix_broadcasts_prunable",
            "completed_at",
            postgresql_where=text("recipients_pruned_at IS NULL AND completed_at IS NOT NULL"),
        ),
    )

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Optional; without one, pages show the body's first words (app.merge.label).
    title: Mapped[str | None] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    media_urls: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    audience: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    from_number: Mapped[str | None] = mapped_column(String(20))
    scheduled_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id", ondelete="SET NULL"))
    occurrence_at: Mapped[datetime | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    encoding: Mapped[str | None] = mapped_column(String(8))
    segments_per_message: Mapped[int] = mapped_column(default=1, server_default="1")
    recipient_count: Mapped[int] = mapped_column(default=0, server_default="0")
    sent_count: Mapped[int] = mapped_column(default=0, server_default="0")
    delivered_count: Mapped[int] = mapped_column(default=0, server_default="0")
    failed_count: Mapped[int] = mapped_column(default=0, server_default="0")
    skipped_count: Mapped[int] = mapped_column(default=0, server_default="0")
    unknown_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set when the retention job removed its per-recipient rows (app/retention.py); counts remain.
    recipients_pruned_at: Mapped[datetime | None]
    # Each recipient's text carries its own /l/<code> in place of each link (app.links).
    track_links: Mapped[bool] = mapped_column(default=False, server_default="false")


class BroadcastRecipient(IdMixin, TenantMixin, Base):
    __tablename__ = "broadcast_recipients"
    __table_args__ = (
        CheckConstraint(status_check("status", RECIPIENT_STATUSES), name="status"),
        Index("ix_broadcast_recipients_broadcast_id_status", "broadcast_id", "status"),
        Index("uq_broadcast_recipients_broadcast_id_member_id", "broadcast_id", "member_id", unique=True),
        Index("ix_broadcast_recipients_member_id", "member_id"),
        # The failures page: a church's failed recipients, newest first.
        Index("ix_broadcast_recipients_failed", "church_id", "failed_at", postgresql_where=text("status = 'failed'")),
        # The reaper looks only at rows stuck in 'sending'.
        Index("ix_broadcast_recipients_claimed_at", "claimed_at", postgresql_where=text("status = 'sending'")),
    )

    # Not a tenant mixin ordering quirk: church_id comes from TenantMixin; the FKs below are ours.
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    to_e164: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")
    provider_message_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_detail: Mapped[str | None] = mapped_column(Text)
    segments: Mapped[int | None]
    cost: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
