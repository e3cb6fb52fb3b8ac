"""broadcasts: an optional title, so the list can be scanned; indexes for the failures page

Revision ID: 0016_broadcast_title
Revises: 0015_notifications

A broadcast was listed by the start of its body, merge fields and all. Admins may now name it;
without a name the pages show the first words of the body with readable placeholders. The failures page reads a church's failed
recipients and replies newest first: two partial indexes keep that a short read.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_broadcast_title"
down_revision = "0015_notifications"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("broadcasts", sa.Column("title", sa.String(length=80), nullable=True))
    op.create_index(
        "ix_broadcast_recipients_failed",
        "broadcast_recipients",
        ["church_id", "failed_at"],
        postgresql_where=sa.text("status = 'failed'"),
    )
    op.create_index(
        "ix_conversation_messages_failed",
        "conversation_messages",
        ["church_id", "created_at"],
        postgresql_where=sa.text("status = 'failed' AND direction = 'out'"),
    )


def downgrade():
    op.drop_index("ix_conversation_messages_failed", table_name="conversation_messages")
    op.drop_index("ix_broadcast_recipients_failed", table_name="broadcast_recipients")
    op.drop_column("broadcasts", "title")
