"""Planning Center: a church's connection, its lists and groups, sync runs, and who is who."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TimestampMixin, status_check
from app.models.people import same_church_key

# queued: waiting for a worker; running: a worker holds it (heartbeat_at moves while it works);
# done / failed: finished. At most one queued or running sync per church (partial unique index).
SYNC_STATUSES = ("queued", "running", "done", "failed")
SYNC_PHASES = ("people", "lists", "finished")


class PcoConnection(TimestampMixin, Base):
    """One church's Planning Center connection (a personal access token, sealed)."""

    __tablename__ = "pco_connections"

    church_id: Mapped[int] = mapped_column(ForeignKey("churches.id", ondelete="CASCADE"), primary_key=True)
    # {"app_id", "secret"} sealed by app.security.sealing: never shown back, unreadable from a dump.
    credentials: Mapped[str] = mapped_column(Text)
    app_id_hint: Mapped[str] = mapped_column(String(8))  # the application id's last characters
    organization: Mapped[str | None] = mapped_column(String(200))
    connected_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The admin confirmed these people agreed to texts (as a CSV import asks); new members get the
    # same consent an import gives them.
    consent_attested: Mapped[bool] = mapped_column(Boolean, default=False)
    # updated_at of the newest person the last successful sync applied; the next one asks from here.
    cursor: Mapped[datetime | None]
    last_synced_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class PcoList(TimestampMixin, Base):
    """A Planning Center list of a connected church, and the group it fills (None: not synced)."""

    __tablename__ = "pco_lists"
    __table_args__ = (
        Index("ix_pco_lists_church_id_group_id", "church_id", "group_id"),
        # The group must be the church's own (groups' uq (church_id, id)).
        ForeignKeyConstraint(
            ["church_id", "group_id"],
            ["groups.church_id", "groups.id"],
            name="fk_pco_lists_church_id_group_id_groups",
            ondelete="CASCADE",
        ),
    )

    church_id: Mapped[int] = mapped_column(ForeignKey("churches.id", ondelete="CASCADE"), primary_key=True)
    pco_list_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    total_people: Mapped[int] = mapped_column(Integer, default=0)
    group_id: Mapped[int | None] = mapped_column(BigInteger)


class PcoSync(IdMixin, TimestampMixin, Base):
    """One sync run; its columns are the resumable state (committed with each page) and the report."""

    __tablename__ = "pco_syncs"
    __table_args__ = (
        CheckConstraint(status_check("status", SYNC_STATUSES), name="status"),
        CheckConstraint(status_check("phase", SYNC_PHASES), name="phase"),
        Index(
            "uq_pco_syncs_church_id_active",
            "church_id",
            unique=True,
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
        Index("ix_pco_syncs_church_id_id", "church_id", "id", unique=True),  # keys on church_id
    )

    church_id: Mapped[int] = mapped_column(ForeignKey("churches.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(16))  # manual / schedule
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    phase: Mapped[str] = mapped_column(String(16), default="people")
    since: Mapped[datetime | None]  # the cursor this run asks from
    high_water: Mapped[datetime | None]  # the newest updated_at applied so far
    next_url: Mapped[str | None] = mapped_column(Text)  # the page to fetch next (resume point)
    list_position: Mapped[int] = mapped_column(Integer, default=0)
    total_people: Mapped[int | None] = mapped_column(Integer)
    people_seen: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    memberships_added: Mapped[int] = mapped_column(Integer, default=0)
    # The first skipped people: {"id", "name", "reason"} (bounded; the counts are whole).
    skipped_people: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    throttled: Mapped[int] = mapped_column(Integer, default=0)  # 429s waited out
    error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def in_progress(self) -> bool:
        return self.status in ("queued", "running")


class PcoPerson(Base):
    """Which member a Planning Center person became (list results name people by these ids)."""

    __tablename__ = "pco_people"
    __table_args__ = (
        Index("ix_pco_people_church_id_member_id", "church_id", "member_id"),
        same_church_key("pco_people", "member_id", "members"),
    )

    church_id: Mapped[int] = mapped_column(ForeignKey("churches.id", ondelete="CASCADE"), primary_key=True)
    pco_person_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    member_id: Mapped[int] = mapped_column(BigInteger)
    pco_updated_at: Mapped[datetime | None]
