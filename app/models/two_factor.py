"""Second factors: an authenticator app's secret, one-time recovery codes, and passkeys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin


class TotpSecret(TimestampMixin, TenantMixin, Base):
    """A user's authenticator-app secret (encrypted), on once `confirmed_at` is set."""

    __tablename__ = "totp_secrets"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    confirmed_at: Mapped[datetime | None]
    # The newest 30-second step a code was accepted for: that code and older ones are refused.
    last_used_step: Mapped[int | None]


class RecoveryCode(IdMixin, TimestampMixin, TenantMixin, Base):
    """One single-use recovery code, kept only as a hash."""

    __tablename__ = "recovery_codes"
    __table_args__ = (Index("uq_recovery_codes_user_id_code_hash", "user_id", "code_hash", unique=True),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class Passkey(IdMixin, TimestampMixin, TenantMixin, Base):
    """A WebAuthn credential: a second factor, and a way to sign in without a password."""

    __tablename__ = "passkeys"
    __table_args__ = (Index("ix_passkeys_user_id", "user_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    credential_id: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # The random handle the authenticator stores for the account (the same for all of a user's passkeys).
    user_handle: Mapped[bytes] = mapped_column(LargeBinary)
    transports: Mapped[str | None] = mapped_column(String(200))
    last_used_at: Mapped[datetime | None]
