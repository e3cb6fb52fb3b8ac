"""api messages: a reply sent through the API names the key that sent it

Revision ID: 0028_api_messages
Revises: 0031_broadcast_recipients_pruned

An outbound conversation message has either a person (author_id), an API key (api_key_id) or
neither (an automatic reply). Replies by people and by keys are refused to opted-out members when
they are sent; automatic replies (the STOP confirmation) are not.
"""

import sqlalchemy as sa
from alembic import op

revision = "0028_api_messages"
down_revision = "0031_broadcast_recipients_pruned"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("conversation_messages", sa.Column("api_key_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_conversation_messages_api_key_id_api_keys"),
        "conversation_messages",
        "api_keys",
        ["api_key_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade():
    op.drop_constraint(op.f("fk_conversation_messages_api_key_id_api_keys"), "conversation_messages", type_="foreignkey")
    op.drop_column("conversation_messages", "api_key_id")
