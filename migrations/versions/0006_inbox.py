"""inbox and inbound messages: list and search indexes

Revision ID: 0006_inbox
Revises: 0005_composer
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_inbox"
down_revision = "0005_composer"
branch_labels = None
depends_on = None


def upgrade():
    # Trigram indexes let "search by name, phone or message text" use ILIKE '%…%' without a
    # sequential scan of millions of messages. Safe to repeat: other migrations may create it too.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # Keyset paging on (last_message_at, id) needs a value on every row.
    op.execute("UPDATE conversations SET last_message_at = created_at WHERE last_message_at IS NULL")
    op.alter_column("conversations", "last_message_at", server_default=sa.text("now()"))
    # The inbox list: one status at a time, newest first, keyset on (last_message_at, id).
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_conversations_church_status_last_message "
        "ON conversations (church_id, status, last_message_at DESC, id DESC)"
    )
    # The unread badge counts only the few unread conversations.
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_conversations_church_unread ON conversations (church_id) WHERE unread_count > 0"
    )
    # A thread pages backwards on (created_at, id) through the initial schema's
    # (conversation_id, created_at DESC, id) index; a thread's ties on created_at are few.
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_conversation_messages_body_trgm "
        "ON conversation_messages USING gin (body gin_trgm_ops)"
    )
    # Member name and phone search use the trigram indexes of migration 0002 (people).


def downgrade():
    op.alter_column("conversations", "last_message_at", server_default=None)
    for name in (
        "ix_conversation_messages_body_trgm",
        "ix_conversations_church_unread",
        "ix_conversations_church_status_last_message",
    ):
        op.execute(f"DROP INDEX IF EXISTS {name}")
