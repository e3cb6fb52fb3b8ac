"""Conversations with members, their messages and internal notes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin, status_check

CONVERSATION_STATUSES = ("open", "closed", "archived")
DIRECTIONS = ("in", "out")
MESSAGE_STATUSES = ("received", "queued", "sending", "sent", "delivered", "failed", "unknown")


class Conversation(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint(status_check("status", CONVERSATION_STATUSES), name="status"),
        Index("uq_conversations_member_id_phone_number_id", "member_id", "phone_number_id", unique=True),
        Index("ix_conversations_church_id_last_message_at", "church_id", text("last_message_at DESC"), "id"),
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    phone_number_id: Mapped[int | None] = mapped_column(ForeignKey("phone_numbers.id", ondelete="SET NULL"))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    unread_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # Never NULL in practice (server default now()): the inbox pages by keyset on it.
    last_message_at: Mapped[datetime | None] = mapped_column(server_default=func.now())
    last_message_preview: Mapped[str | None] = mapped_column(String(160))
    last_inbound_at: Mapped[datetime | None]
    # When the oldest unread text of this unread spell came in: set by an inbound text when NULL,
    # cleared when someone reads the thread. What unread-text mails wait on (app.notifications).
    unread_since: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]


class ConversationMessage(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "conversation_messages"
    __table_args__ = (
        CheckConstraint(status_check("direction", DIRECTIONS), name="direction"),
        CheckConstraint(status_check("status", MESSAGE_STATUSES), name="status"),
        Index("ix_conversation_messages_conversation_id_created_at", "conversation_id", text("created_at DESC"), "id"),
        # The reply sweeper's rows (app.inbox.tasks.sweep_replies): the few still sending.
        Index("ix_conversation_messages_sending", "created_at", postgresql_where=text("status = 'sending'")),
        # Automations' "first text" trigger: a church's recent inbound texts.
        Index(
            "ix_conversation_messages_inbound",
            "church_id",
            "created_at",
            postgresql_where=text("direction = 'in'"),
        ),
        # The failures page: a church's failed replies, newest first.
        Index(
            "ix_conversation_messages_failed",
            "church_id",
            "created_at",
            postgresql_where=text("status = 'failed' AND direction = 'out'"),
        ),
        # The retention job's oldest-first walk (app/retention.py); rows arrive in time order.
        Index("ix_conversation_messages_created_at_brin", "created_at", postgresql_using="brin"),
    )

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    media: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default="[]")
    status: Mapped[str] = mapped_column(String(16))
    provider_message_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A reply sent through /api/v1: the key that sent it (author_id is then NULL). Neither set: an
    # automatic reply.
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id", ondelete="SET NULL"), index=True)
    error_code: Mapped[str | None] = mapped_column(String(32))
    # Committed just before the provider call (outbound only): a reply still "sending" with it set
    # may have gone out, one without it never did.
    send_started_at: Mapped[datetime | None]
    # Sent by an automation: like a staff reply, never to someone opted out (checked at send time).
    automated: Mapped[bool] = mapped_column(default=False, server_default="false")

    @property
    def is_automatic(self) -> bool:
        """Sent by Koinonia itself (a keyword's answer), not by a person or an API key."""
        return self.author_id is None and self.api_key_id is None


class ConversationNote(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "conversation_notes"
    __table_args__ = (Index("ix_conversation_notes_conversation_id", "conversation_id"),)

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
