"""retention: when a broadcast's recipient rows were removed; old inbox messages found cheaply

Revision ID: 0031_broadcast_recipients_pruned
Revises: 0030_webhook_events_by_day

The retention job (app/retention.py) deletes per-recipient rows of old broadcasts; the counts stay
on the broadcast (and in daily_stats) and the page says the detail is gone. Old inbox messages are
found through a BRIN index on created_at: rows arrive in time order, so a few pages of block
ranges find them, at next to no cost to the inserts on the inbound path (a B-tree would add one).
"""

import sqlalchemy as sa
from alembic import op

revision = "0031_broadcast_recipients_pruned"
down_revision = "0030_webhook_events_by_day"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("broadcasts", sa.Column("recipients_pruned_at", sa.DateTime(timezone=True), nullable=True))
    # The retention job's walk: finished broadcasts by completion time, not yet pruned.
    op.execute(
        "CREATE INDEX ix_broadcasts_prunable ON broadcasts (completed_at) "
        "WHERE recipients_pruned_at IS NULL AND completed_at IS NOT NULL"
    )
    op.execute("CREATE INDEX ix_conversation_messages_created_at_brin ON conversation_messages USING brin (created_at)")


def downgrade():
    op.execute("DROP INDEX IF EXISTS ix_conversation_messages_created_at_brin")
    op.execute("DROP INDEX IF EXISTS ix_broadcasts_prunable")
    op.drop_column("broadcasts", "recipients_pruned_at")
