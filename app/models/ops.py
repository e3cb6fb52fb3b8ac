"""Operational tables: webhook intake, dead letters, stats, billing state and the audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin


class WebhookEvent(Base):
    """A provider webhook as received; partitioned by day on occurred_at (app/partitions.py, 0030)."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        # A partitioned table's unique keys hold its partition key; a redelivery repeats occurred_at.
        Index("uq_webhook_events_provider_event_id", "provider", "event_id", "occurred_at", unique=True),
        # The processor drains only what is pending; this index stays small.
        Index("ix_webhook_events_pending", "id", postgresql_where=text("processed_at IS NULL")),
        {"postgresql_partition_by": "RANGE (occurred_at)"},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # The provider's time of the event (Telnyx data.occurred_at, Stripe created): the partition key.
    occurred_at: Mapped[datetime] = mapped_column(primary_key=True, server_default=text("now()"))
    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(128))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    church_id: Mapped[int | None] = mapped_column(ForeignKey("churches.id", ondelete="SET NULL"))
    received_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)


class DeadLetter(IdMixin, TimestampMixin, Base):
    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_church_id_created_at", "church_id", text("created_at DESC")),)

    church_id: Mapped[int | None] = mapped_column(ForeignKey("churches.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=1, server_default="1")
    replayed_at: Mapped[datetime | None]


class DailyStat(Base):
    __tablename__ = "daily_stats"

    church_id: Mapped[int] = mapped_column(ForeignKey("churches.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    sent: Mapped[int] = mapped_column(default=0, server_default="0")
    delivered: Mapped[int] = mapped_column(default=0, server_default="0")
    failed: Mapped[int] = mapped_column(default=0, server_default="0")
    inbound: Mapped[int] = mapped_column(default=0, server_default="0")
    opt_outs: Mapped[int] = mapped_column(default=0, server_default="0")
    opt_ins: Mapped[int] = mapped_column(default=0, server_default="0")
    segments: Mapped[int] = mapped_column(default=0, server_default="0")


class Subscription(IdMixin, TenantMixin, Base):
    __tablename__ = "subscriptions"
    __table_args__ = (Index("uq_subscriptions_church_id", "church_id", unique=True),)

    stripe_customer_id: Mapped[str | None] = mapped_column(String(255))
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_item_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32), default="none", server_default="none")
    plan: Mapped[str | None] = mapped_column(String(32))
    price_id: Mapped[str | None] = mapped_column(String(255))
    current_period_end: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    past_due_since: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class UsagePeriod(IdMixin, TenantMixin, Base):
    __tablename__ = "usage_periods"
    __table_args__ = (Index("uq_usage_periods_church_id_period_start", "church_id", "period_start", unique=True),)

    period_start: Mapped[date]
    period_end: Mapped[date]
    segments_used: Mapped[int] = mapped_column(default=0, server_default="0")


class AuditLog(IdMixin, TimestampMixin, Base):
    """Who did what in a church (written through app.audit.record, with the change it describes)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        # The page reads newest first, keyset-paged on (created_at, id), optionally for one person.
        Index("ix_audit_log_church_id_created_at_id", "church_id", text("created_at DESC"), text("id DESC")),
        Index(
            "ix_audit_log_church_id_user_id_created_at_id",
            "church_id",
            "user_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
    )

    church_id: Mapped[int | None] = mapped_column(ForeignKey("churches.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[int | None]
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    ip: Mapped[str | None] = mapped_column(String(64))
