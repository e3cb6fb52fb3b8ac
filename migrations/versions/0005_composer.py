"""broadcast composer and schedules

Revision ID: 0005_composer
Revises: 0004_delivery
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005_composer"
down_revision = "0004_delivery"
branch_labels = None
depends_on = None


def upgrade():
    # What the last occurrence of a recurring broadcast did, shown in the "Repeating" list.
    op.add_column("schedules", sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("schedules", sa.Column("last_error", sa.Text(), nullable=True))
    # A double-submitted "repeat" form carries the same key: one schedule, never two.
    op.add_column("schedules", sa.Column("idempotency_key", sa.String(64), nullable=True))
    op.create_index(
        "uq_schedules_church_id_idempotency_key", "schedules", ["church_id", "idempotency_key"], unique=True
    )


def downgrade():
    op.drop_index("uq_schedules_church_id_idempotency_key", table_name="schedules")
    op.drop_column("schedules", "idempotency_key")
    op.drop_column("schedules", "last_error")
    op.drop_column("schedules", "last_run_at")
