"""custom fields: a church's own member fields and each member's values

Revision ID: 0024_custom_fields
Revises: 0026_automations

custom_fields holds the definitions (stable key, label, type, choices). member_field_values holds
one row per member and field with the value in the column of its type, so audience filters are
index lookups: (field_id, value_text) for "is", (field_id, value_month_day) for "in this month"
(month*100+day, generated from value_date, so the year never matters).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0024_custom_fields"
down_revision = "0026_automations"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "custom_fields",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("choices", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("position", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("type IN ('text', 'number', 'date', 'choice')", name=op.f("ck_custom_fields_type")),
        sa.CheckConstraint("key ~ '^[a-z][a-z0-9_]{0,39}$'", name=op.f("ck_custom_fields_key")),
        sa.ForeignKeyConstraint(
            ["church_id"], ["churches.id"], name=op.f("fk_custom_fields_church_id_churches"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_fields")),
        sa.UniqueConstraint("church_id", "key", name="uq_custom_fields_church_id_key"),
        sa.UniqueConstraint("church_id", "id", name="uq_custom_fields_church_id_id"),
    )
    op.create_index(op.f("ix_custom_fields_church_id"), "custom_fields", ["church_id"])
    op.create_table(
        "member_field_values",
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("field_id", sa.BigInteger(), nullable=False),
        sa.Column("value_text", sa.String(length=200), nullable=True),
        sa.Column("value_number", sa.Numeric(18, 4), nullable=True),
        sa.Column("value_date", sa.Date(), nullable=True),
        sa.Column(
            "value_month_day",
            sa.SmallInteger(),
            sa.Computed(
                "((EXTRACT(month FROM value_date) * 100 + EXTRACT(day FROM value_date))::smallint)", persisted=True
            ),
            nullable=True,
        ),
        sa.CheckConstraint(
            "num_nonnulls(value_text, value_number, value_date) = 1", name=op.f("ck_member_field_values_one_value")
        ),
        sa.ForeignKeyConstraint(
            ["church_id", "member_id"],
            ["members.church_id", "members.id"],
            name="fk_member_field_values_church_id_member_id_members",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["church_id", "field_id"],
            ["custom_fields.church_id", "custom_fields.id"],
            name="fk_member_field_values_church_id_field_id_custom_fields",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "field_id", name=op.f("pk_member_field_values")),
    )
    # The church's values; unique (the primary key is), so the table keys on church_id.
    op.create_index(
        "uq_member_field_values_church_id_member_id_field_id",
        "member_field_values",
        ["church_id", "member_id", "field_id"],
        unique=True,
    )
    op.create_index(
        "ix_member_field_values_field_id_value_text",
        "member_field_values",
        ["field_id", "value_text"],
        postgresql_where=sa.text("value_text IS NOT NULL"),
    )
    op.create_index(
        "ix_member_field_values_field_id_value_number",
        "member_field_values",
        ["field_id", "value_number"],
        postgresql_where=sa.text("value_number IS NOT NULL"),
    )
    op.create_index(
        "ix_member_field_values_field_id_value_month_day",
        "member_field_values",
        ["field_id", "value_month_day"],
        postgresql_where=sa.text("value_month_day IS NOT NULL"),
    )


def downgrade():
    op.drop_table("member_field_values")
    op.drop_index(op.f("ix_custom_fields_church_id"), table_name="custom_fields")
    op.drop_table("custom_fields")
