"""CSV member imports: the uploaded file, the choices made on the preview, and the outcome."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, deferred, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin, status_check

# draft: uploaded, waiting for the mapping and the consent attestation on the preview page.
IMPORT_STATUSES = ("draft", "queued", "running", "done", "failed")
IMPORT_FIELDS = ("first_name", "last_name", "phone", "email", "groups", "branch")


class MemberImport(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "member_imports"
    __table_args__ = (
        CheckConstraint(status_check("status", IMPORT_STATUSES), name="status"),
        Index("ix_member_imports_church_id_created_at", "church_id", "created_at"),
    )

    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    # The file itself stays with the import so the job (and a rerun) reads exactly what was uploaded.
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    size_bytes: Mapped[int] = mapped_column(default=0, server_default="0")
    encoding: Mapped[str] = mapped_column(String(32), default="utf-8", server_default="utf-8")
    delimiter: Mapped[str] = mapped_column(String(1), default=",", server_default=",")
    headers: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    # field name (IMPORT_FIELDS) -> column index in the file
    mapping: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    update_existing: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    consent_attested: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    status: Mapped[str] = mapped_column(String(16), default="draft", server_default="draft")
    job_id: Mapped[str | None] = mapped_column(String(64))
    total_rows: Mapped[int] = mapped_column(default=0, server_default="0")
    read_rows: Mapped[int] = mapped_column(default=0, server_default="0")
    imported: Mapped[int] = mapped_column(default=0, server_default="0")
    updated: Mapped[int] = mapped_column(default=0, server_default="0")
    skipped: Mapped[int] = mapped_column(default=0, server_default="0")
    failed: Mapped[int] = mapped_column(default=0, server_default="0")
    groups_created: Mapped[int] = mapped_column(default=0, server_default="0")
    # [{"row": spreadsheet row number, "values": [cells as in the file], "reason": "..."}]
    failures: Mapped[list] = deferred(mapped_column(JSONB, default=list, server_default="[]"))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    @property
    def in_progress(self) -> bool:
        return self.status in ("queued", "running")
