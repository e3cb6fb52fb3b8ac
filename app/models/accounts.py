"""One-time account tokens: password resets and sign-up verifications (app.accounts.tokens)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin


class AccountToken(IdMixin, TimestampMixin, Base):
    """A link mailed once: only the sha256 of its token is kept, and used_at spends it."""

    __tablename__ = "account_tokens"

    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    # A sign-up's token has no church or user yet: they are made when it is opened.
    church_id: Mapped[int | None] = mapped_column(ForeignKey("churches.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
