"""API keys: how a church's own software reaches /api/v1 on its behalf."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin

API_SCOPES = ("read", "members:write", "messages:send", "webhooks:manage")


class ApiKey(IdMixin, TimestampMixin, TenantMixin, Base):
    """One key. Only its SHA-256 is stored: the key itself is shown once, when it is made.

    A key is 32 random bytes, so a plain digest is as safe as a slow KDF would be, and a lookup
    by the unique digest index is the comparison (no per-key hash to try in turn, no timing to read).
    """

    __tablename__ = "api_keys"
    __table_args__ = (Index("uq_api_keys_key_hash", "key_hash", unique=True),)

    name: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    # "kn_live_ab12": enough to tell keys apart on the page and in a client's config.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Set on the old key when it is rotated: it keeps working until then, so clients can switch over.
    expires_at: Mapped[datetime | None]
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
