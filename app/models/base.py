"""Declarative base, naming convention and shared column helpers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, registry

# Stable constraint names so Alembic migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: DateTime(timezone=True), int: BigInteger},
    )


class IdMixin:
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class TenantMixin:
    """Every tenant-owned row carries church_id (also the Citus distribution key)."""

    @declared_attr
    def church_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(ForeignKey("churches.id", ondelete="CASCADE"), index=True)


def escape_like(text: str) -> str:
    """`text` as a literal inside a LIKE/ILIKE pattern, whose `escape` must be one backslash.

    Without it a search for "50%" or "a_b" is a pattern of its own, and a lone "%" or "_" matches
    every row, which turns a cheap search into a scan of the whole table.
    """
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def status_check(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK constraint limiting a text column to known values."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"
