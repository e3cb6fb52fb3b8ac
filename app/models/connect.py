"""The connect card: a church's public sign-up page, and what people sent through it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin, status_check
from app.models.people import same_church_key

# pending: a confirmation text asked for YES; confirmed: they replied YES; no_consent: the SMS box
# was left unticked (nothing sent); suppressed: the number had opted out (nothing sent);
# stopped: they replied STOP while pending; expired: no YES within the pending window.
SUBMISSION_STATUSES = ("pending", "confirmed", "no_consent", "suppressed", "stopped", "expired")


class ConnectCard(TimestampMixin, Base):
    """One church's connect card settings (one row per church, made on first save)."""

    __tablename__ = "connect_cards"

    church_id: Mapped[int] = mapped_column(ForeignKey("churches.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    intro: Mapped[str | None] = mapped_column(Text)
    # Short-text questions the church asks, in order (bounded by the settings form).
    questions: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    # Groups a person may choose to join from the card.
    group_ids: Mapped[list[int]] = mapped_column(JSONB, default=list, server_default="[]")
    frequency: Mapped[str] = mapped_column(
        String(60), default="Up to 4 msgs/month", server_default="Up to 4 msgs/month"
    )
    # Origins (https://example.org) whose pages may embed the card in a frame.
    allowed_origins: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class ConnectSubmission(IdMixin, TimestampMixin, Base):
    """One connect card sent in; `status` 'pending' is the double opt-in marker awaiting YES."""

    __tablename__ = "connect_submissions"
    __table_args__ = (
        CheckConstraint(status_check("status", SUBMISSION_STATUSES), name="status"),
        same_church_key("connect_submissions", "member_id", "members"),
        # What an inbound YES asks: does this member have a pending card?
        Index("ix_connect_submissions_pending", "member_id", postgresql_where=text("status = 'pending'")),
        Index("ix_connect_submissions_church_id_created_at", "church_id", "created_at"),
    )

    church_id: Mapped[int] = mapped_column()
    member_id: Mapped[int] = mapped_column()
    answers: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    group_ids: Mapped[list[int]] = mapped_column(JSONB, default=list, server_default="[]")
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    confirmed_at: Mapped[datetime | None]
