"""Outbound webhooks: the endpoints a church registers and each event's delivery to one of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin, status_check
from app.models.people import same_church_key

EVENT_TYPES = ("message.received", "member.created", "member.opted_out", "broadcast.completed")
# A test event goes to the one endpoint it was asked for, whatever the endpoint subscribes to.
TEST_EVENT = "webhook.test"
# enabled: deliveries go out; failing: a delivery gave up after 24 hours (they still go out, and
# the next success makes it enabled again); disabled: the owner turned it off, nothing is sent.
ENDPOINT_STATES = ("enabled", "failing", "disabled")
# pending: due at next_attempt_at (claimed by moving it forward); delivered; failed: gave up.
DELIVERY_STATUSES = ("pending", "delivered", "failed")
URL_MAX = 2000
EXCERPT_MAX = 1024


class WebhookEndpoint(IdMixin, TimestampMixin, TenantMixin, Base):
    """A URL that receives the church's events, signed with its own secret (Standard Webhooks)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint(status_check("state", ENDPOINT_STATES), name="state"),
        UniqueConstraint("church_id", "id", name="uq_webhook_endpoints_church_id_id"),
    )

    url: Mapped[str] = mapped_column(String(URL_MAX))
    description: Mapped[str | None] = mapped_column(String(200))
    events: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    # `whsec_<base64>` sealed under SECRET_KEY (app.security.sealing): a database dump alone
    # cannot forge the church's webhooks.
    secret_sealed: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="enabled", server_default="enabled")
    failing_since: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class WebhookDelivery(IdMixin, TimestampMixin, Base):
    """One event for one endpoint: its body, kept until delivered or given up (the outbox row)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(status_check("status", DELIVERY_STATUSES), name="status"),
        same_church_key("webhook_deliveries", "endpoint_id", "webhook_endpoints"),
        # The endpoint's recent deliveries, newest first (the settings page, the API).
        # Unique (id alone is), so the table keys on church_id (tests/integration/test_tenant_keys.py).
        Index("ix_webhook_deliveries_church_id_endpoint_id_id", "church_id", "endpoint_id", "id", unique=True),
        # What the sweep asks: which deliveries are due.
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    church_id: Mapped[int] = mapped_column()
    endpoint_id: Mapped[int] = mapped_column()
    # The `webhook-id` header: the same on every attempt and on a resend, so receivers can dedupe.
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(server_default=func.now())
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    response_status: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(200))
