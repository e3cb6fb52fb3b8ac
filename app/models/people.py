"""Members, groups, the consent ledger and join keywords."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin, status_check

CONSENT_ACTIONS = ("opt_in", "opt_out")
CONSENT_SOURCES = ("keyword", "import", "form", "provider_block", "admin", "api")


# What member search matches names against; the trigram index in migration 0002 is on this exact expression.
MEMBER_NAME_SQL = "(first_name || ' ' || last_name)"


def same_church_key(table: str, column: str, referred: str) -> ForeignKeyConstraint:
    """(church_id, column) -> referred (church_id, id): the row and what it points at share a church."""
    return ForeignKeyConstraint(
        ["church_id", column],
        [f"{referred}.church_id", f"{referred}.id"],
        ondelete="CASCADE",
        name=f"fk_{table}_church_id_{column}_{referred}",
    )


# A member with no name (an unknown texter); the name index leads with it so they sort after every name.
MEMBER_UNNAMED_SQL = "(first_name = '' AND last_name = '')"

# Columns the member list's filters read, INCLUDEd in its sort indexes (app.people.keyset.WINDOW_COLUMNS).
WINDOW_INCLUDE = ("first_name", "last_name", "email", "opted_out_at", "branch_id")


class Member(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "members"
    __table_args__ = (
        Index("uq_members_church_id_phone_e164", "church_id", "phone_e164", unique=True),
        # Search (pg_trgm) and one keyset index per list sort; see migrations/versions/0002_people.py.
        Index("ix_members_name_trgm", text(f"{MEMBER_NAME_SQL} gin_trgm_ops"), postgresql_using="gin"),
        Index("ix_members_email_trgm", "email", postgresql_using="gin", postgresql_ops={"email": "gin_trgm_ops"}),
        Index(
            "ix_members_phone_trgm",
            "phone_e164",
            postgresql_using="gin",
            postgresql_ops={"phone_e164": "gin_trgm_ops"},
        ),
        # Both carry what the list's filters read, so a filtered page's window is index-only (0009).
        Index(
            "ix_members_church_id_name",
            "church_id",
            text(MEMBER_UNNAMED_SQL),
            func.lower(text("last_name")),
            func.lower(text("first_name")),
            "id",
            postgresql_include=list(WINDOW_INCLUDE),
        ),
        Index(
            "ix_members_church_id_created_at", "church_id", "created_at", "id", postgresql_include=list(WINDOW_INCLUDE)
        ),
        UniqueConstraint("church_id", "id", name="uq_members_church_id_id"),  # for the tenant keys below
    )

    # Indexed by uq_members_church_id_id (church_id first), so no index of its own.
    church_id: Mapped[int] = mapped_column(ForeignKey("churches.id", ondelete="CASCADE"))
    first_name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    last_name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(320))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id", ondelete="SET NULL"), index=True)
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    notes: Mapped[str | None] = mapped_column(Text)
    opted_out_at: Mapped[datetime | None]
    consent_source: Mapped[str | None] = mapped_column(String(32))
    consent_at: Mapped[datetime | None]
    is_unknown: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    @property
    def full_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or (f"Unknown · {self.phone_e164}" if self.phone_e164 else "Unknown contact")

    @property
    def opted_out(self) -> bool:
        return self.opted_out_at is not None


class Group(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "groups"
    __table_args__ = (
        Index("uq_groups_church_id_name", "church_id", "name", unique=True),
        UniqueConstraint("church_id", "id", name="uq_groups_church_id_id"),  # for the tenant keys below
    )

    # Indexed by uq_groups_church_id_id (church_id first), so no index of its own.
    church_id: Mapped[int] = mapped_column(ForeignKey("churches.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)


class GroupMember(TimestampMixin, TenantMixin, Base):
    """A member in a group; both belong to the membership's church (migration 0008)."""

    __tablename__ = "group_members"
    __table_args__ = (
        same_church_key("group_members", "member_id", "members"),
        same_church_key("group_members", "group_id", "groups"),
    )

    # The church is checked through the member and the group keys above.
    church_id: Mapped[int] = mapped_column(index=True)
    group_id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(primary_key=True, index=True)


class GroupLeader(TimestampMixin, TenantMixin, Base):
    __tablename__ = "group_leaders"

    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class ConsentEvent(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "consent_events"
    __table_args__ = (
        CheckConstraint(status_check("action", CONSENT_ACTIONS), name="action"),
        CheckConstraint(status_check("source", CONSENT_SOURCES), name="source"),
        Index("ix_consent_events_member_id_created_at", "member_id", "created_at"),
        same_church_key("consent_events", "member_id", "members"),
    )

    # The church is checked through the member key above (migration 0008).
    church_id: Mapped[int] = mapped_column(index=True)
    member_id: Mapped[int] = mapped_column()
    action: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    keyword: Mapped[str | None] = mapped_column(String(32))
    phone_number: Mapped[str | None] = mapped_column(String(20), comment="the church number involved")
    detail: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Keyword(IdMixin, TimestampMixin, TenantMixin, Base):
    __tablename__ = "keywords"
    __table_args__ = (Index("uq_keywords_church_id_word", "church_id", func.upper(text("word")), unique=True),)

    word: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    auto_reply: Mapped[str | None] = mapped_column(Text)
