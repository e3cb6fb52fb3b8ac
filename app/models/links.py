"""Tracked links of broadcasts and the per-recipient short codes that stand in for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin


class TrackedLink(IdMixin, TimestampMixin, TenantMixin, Base):
    """One link of a broadcast whose links are tracked, with the exact URL a click goes to."""

    __tablename__ = "tracked_links"
    __table_args__ = (
        Index("uq_tracked_links_broadcast_id_position", "broadcast_id", "position", unique=True),
        UniqueConstraint("church_id", "id", name="uq_tracked_links_church_id_id"),  # keys on church_id
    )

    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger)
    url: Mapped[str] = mapped_column(Text)
    # Where the link sits in the broadcast's body: what each recipient's text replaces.
    span_start: Mapped[int] = mapped_column(Integer)
    span_end: Mapped[int] = mapped_column(Integer)


class LinkCode(TenantMixin, Base):
    """One recipient's code for one link (`/l/<code>`), and what its clicks added up to."""

    __tablename__ = "link_codes"
    __table_args__ = (
        Index("uq_link_codes_recipient_id_link_id", "recipient_id", "link_id", unique=True),
        Index("ix_link_codes_link_id", "link_id", postgresql_include=["clicks", "bot_clicks"]),
    )

    code: Mapped[str] = mapped_column(String(16, collation="C"), primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("tracked_links.id", ondelete="CASCADE"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("broadcast_recipients.id", ondelete="CASCADE"))
    clicks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bot_clicks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_clicked_at: Mapped[datetime | None]
    last_clicked_at: Mapped[datetime | None]
