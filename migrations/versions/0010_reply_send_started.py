"""inbox: a reply records when its send began

Revision ID: 0010_reply_send_started
Revises: 0009_member_sort_index_include

A reply stays "sending" until the provider answers. Two failures left it there for good: its job
lost before it ran (nothing sent), and its worker killed during the provider call (maybe sent).
send_started_at is committed just before the call, which tells them apart: the sweeper re-queues
the first kind and marks the second "unknown" (never re-sent, as with broadcast recipients).
The partial index keeps that sweep to the few rows still sending.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_reply_send_started"
down_revision = "0009_member_sort_index_include"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("conversation_messages", sa.Column("send_started_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_conversation_messages_sending",
        "conversation_messages",
        ["created_at"],
        postgresql_where=sa.text("status = 'sending'"),
    )


def downgrade():
    op.drop_index("ix_conversation_messages_sending", table_name="conversation_messages")
    op.drop_column("conversation_messages", "send_started_at")
