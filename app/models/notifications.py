"""What staff want to be told about, and the browsers that receive their push notifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin

EMAIL_AFTER_DEFAULT = 5  # minutes a thread stays unread before it is mailed about
EMAIL_AFTER_MIN, EMAIL_AFTER_MAX = 1, 1440
ENDPOINT_MAX = 1024  # push services' endpoints are a few hundred characters


class NotificationSetting(TenantMixin, Base):
    """One user's choices. A user without a row has the defaults: mail after 5 minutes, push on."""

    __tablename__ = "notification_settings"
    __table_args__ = (
        CheckConstraint(
            f"email_after_minutes IS NULL OR email_after_minutes BETWEEN {EMAIL_AFTER_MIN} AND {EMAIL_AFTER_MAX}",
            name="email_after_minutes",
        ),
    )

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # NULL: no mail at all. No column default, or an explicit "off" (None) would be taken for it.
    email_after_minutes: Mapped[int | None]
    include_text: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    push: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class PushSubscription(IdMixin, TimestampMixin, TenantMixin, Base):
    """A browser's Web Push subscription (RFC 8030 endpoint, RFC 8291 keys) for one user."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (Index("ix_push_subscriptions_user_id", "user_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    endpoint: Mapped[str] = mapped_column(String(ENDPOINT_MAX), unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))  # base64url of the browser's P-256 public key
    auth: Mapped[str] = mapped_column(String(64))  # base64url of its 16-byte auth secret
    last_success_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(default=0, server_default="0")


class UnreadMailSent(TenantMixin, Base):
    """Which unread spell of a thread a user was last mailed about (one row per user and thread).

    A spell is named by the conversation's `unread_since`; a new text after the thread was read
    starts a new spell, which may be mailed about again.
    """

    __tablename__ = "unread_mails_sent"
    __table_args__ = (Index("ix_unread_mails_sent_user_id_mailed_at", "user_id", "mailed_at"),)

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    unread_since: Mapped[datetime]
    mailed_at: Mapped[datetime] = mapped_column(server_default=func.now())
