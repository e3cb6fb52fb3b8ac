"""delivery engine: unknown counter, claim and reconcile indexes

Revision ID: 0004_delivery
Revises: 0003_imports
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_delivery"
down_revision = "0003_imports"
branch_labels = None
depends_on = None


def upgrade():
    # Recipients the provider may or may not have (worker died, read timeout): counted apart.
    op.add_column("broadcasts", sa.Column("unknown_count", sa.BigInteger(), server_default="0", nullable=False))
    # Workers claim only queued rows of one broadcast; this index holds nothing once it is sent.
    op.create_index(
        "ix_broadcast_recipients_queued",
        "broadcast_recipients",
        ["broadcast_id", "id"],
        postgresql_where=sa.text("status = 'queued'"),
    )
    # "Is anything of this broadcast still queued or sending?" after every batch.
    op.create_index(
        "ix_broadcast_recipients_open",
        "broadcast_recipients",
        ["broadcast_id"],
        postgresql_where=sa.text("status IN ('queued', 'sending')"),
    )
    # A status webhook for a row whose send result was lost is matched by destination.
    op.create_index(
        "ix_broadcast_recipients_unmatched",
        "broadcast_recipients",
        ["to_e164"],
        postgresql_where=sa.text("status = 'unknown' AND provider_message_id IS NULL"),
    )
    op.create_index(
        "ix_dead_letters_pending", "dead_letters", ["created_at"], postgresql_where=sa.text("replayed_at IS NULL")
    )


def downgrade():
    op.drop_index("ix_dead_letters_pending", table_name="dead_letters")
    op.drop_index("ix_broadcast_recipients_unmatched", table_name="broadcast_recipients")
    op.drop_index("ix_broadcast_recipients_open", table_name="broadcast_recipients")
    op.drop_index("ix_broadcast_recipients_queued", table_name="broadcast_recipients")
    op.drop_column("broadcasts", "unknown_count")
