"""Custom fields: what a church records about its members beyond the built-in columns.

A church defines its fields (`custom_fields`: a stable key, a label, a type and, for a choice,
its options) and each member's values live one row per field in `member_field_values`, in the
column of the field's type. Typed columns (not a JSON blob) are what let the audience filters be
plain indexed SQL: "campus is North" is an index lookup on (field_id, value_text), "birthday in
this month" a range over (field_id, value_month_day), a generated month*100+day that ignores the
year. Renaming a field touches one row; deleting it cascades to its values.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Computed,
    Date,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, IdMixin, TenantMixin, TimestampMixin, status_check
from app.models.people import same_church_key

FIELD_TYPES = ("text", "number", "date", "choice")
MONTH_DAY_SQL = "((EXTRACT(month FROM value_date) * 100 + EXTRACT(day FROM value_date))::smallint)"


class CustomField(IdMixin, TimestampMixin, TenantMixin, Base):
    """One field a church keeps about its members."""

    __tablename__ = "custom_fields"
    __table_args__ = (
        CheckConstraint(status_check("type", FIELD_TYPES), name="type"),
        CheckConstraint("key ~ '^[a-z][a-z0-9_]{0,39}$'", name="key"),
        UniqueConstraint("church_id", "key", name="uq_custom_fields_church_id_key"),
        UniqueConstraint("church_id", "id", name="uq_custom_fields_church_id_id"),  # for the values' tenant key
    )

    church_id: Mapped[int] = mapped_column(ForeignKey("churches.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    type: Mapped[str] = mapped_column(String(8))
    # Options of a choice field, in the order offered (bounded by app.people.custom_fields).
    choices: Mapped[list[str]] = mapped_column(JSONB, default=list, server_default="[]")
    position: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")


class MemberFieldValue(Base):
    """A member's value for one custom field, in the column of the field's type."""

    __tablename__ = "member_field_values"
    __table_args__ = (
        same_church_key("member_field_values", "member_id", "members"),
        same_church_key("member_field_values", "field_id", "custom_fields"),
        CheckConstraint("num_nonnulls(value_text, value_number, value_date) = 1", name="one_value"),
        # What the audience filters read: equality on text/choice, a month-day range on dates.
        Index(
            "ix_member_field_values_field_id_value_text",
            "field_id",
            "value_text",
            postgresql_where=text("value_text IS NOT NULL"),
        ),
        Index(
            "ix_member_field_values_field_id_value_number",
            "field_id",
            "value_number",
            postgresql_where=text("value_number IS NOT NULL"),
        ),
        Index(
            "ix_member_field_values_field_id_value_month_day",
            "field_id",
            "value_month_day",
            postgresql_where=text("value_month_day IS NOT NULL"),
        ),
        # The church's values; unique, so the table keys on church_id (tests/integration/test_tenant_keys.py).
        Index("uq_member_field_values_church_id_member_id_field_id", "church_id", "member_id", "field_id", unique=True),
    )

    church_id: Mapped[int] = mapped_column()
    member_id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int] = mapped_column(primary_key=True)
    value_text: Mapped[str | None] = mapped_column(String(200))
    value_number: Mapped[Decimal | None] = mapped_column(Numeric(18, 4))
    value_date: Mapped[date | None] = mapped_column(Date)
    value_month_day: Mapped[int | None] = mapped_column(SmallInteger, Computed(MONTH_DAY_SQL, persisted=True))

    @property
    def value(self) -> Any:
        return next((v for v in (self.value_text, self.value_number, self.value_date) if v is not None), None)
