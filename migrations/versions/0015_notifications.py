"""notifications: each user's notification choices and their browsers' push subscriptions

Revision ID: 0015_notifications
Revises: 0014_audit_and_sessions

Staff choose whether and when they are mailed about unread threads and whether their devices get
push notifications; a user without a row has the defaults (mail after 5 minutes, push on). A push
subscription is one browser's endpoint and keys; the endpoint is unique, so a shared phone's
browser belongs to whoever subscribed from it last.

A conversation's unread_since marks when its current unread spell began (the first text nobody
has read); unread_mails_sent records which spell each user was mailed about, so a thread is
mailed once per spell. Threads unread before this migration have no spell and are not mailed
about (no burst of mail on deploy); their next text starts one.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_notifications"
down_revision = "0014_audit_and_sessions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notification_settings",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("email_after_minutes", sa.BigInteger(), nullable=True),
        sa.Column("include_text", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("push", sa.Boolean(), nullable=False, server_default="true"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint(
            "email_after_minutes IS NULL OR email_after_minutes BETWEEN 1 AND 1440",
            name=op.f("ck_notification_settings_email_after_minutes"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE", name=op.f("fk_notification_settings_user_id_users")),
        sa.ForeignKeyConstraint(
            ["church_id"], ["churches.id"], ondelete="CASCADE", name=op.f("fk_notification_settings_church_id_churches")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_notification_settings")),
    )
    op.create_index("ix_notification_settings_church_id", "notification_settings", ["church_id"])

    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("endpoint", sa.String(length=1024), nullable=False),
        sa.Column("p256dh", sa.String(length=128), nullable=False),
        sa.Column("auth", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.BigInteger(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE", name=op.f("fk_push_subscriptions_user_id_users")),
        sa.ForeignKeyConstraint(
            ["church_id"], ["churches.id"], ondelete="CASCADE", name=op.f("fk_push_subscriptions_church_id_churches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
    )
    op.create_index("ix_push_subscriptions_church_id", "push_subscriptions", ["church_id"])
    op.create_index("ix_push_subscriptions_user_id", "push_subscriptions", ["user_id"])

    op.add_column("conversations", sa.Column("unread_since", sa.DateTime(timezone=True), nullable=True))
    # The unread-mail sweep reads only threads in an unread spell: few, whatever the inbox's size.
    op.create_index(
        "ix_conversations_unread_since",
        "conversations",
        ["unread_since"],
        postgresql_where=sa.text("unread_since IS NOT NULL"),
    )
    op.create_table(
        "unread_mails_sent",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("unread_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mailed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], ondelete="CASCADE", name=op.f("fk_unread_mails_sent_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            ondelete="CASCADE",
            name=op.f("fk_unread_mails_sent_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["church_id"], ["churches.id"], ondelete="CASCADE", name=op.f("fk_unread_mails_sent_church_id_churches")
        ),
        sa.PrimaryKeyConstraint("user_id", "conversation_id", name=op.f("pk_unread_mails_sent")),
    )
    op.create_index("ix_unread_mails_sent_church_id", "unread_mails_sent", ["church_id"])
    op.create_index("ix_unread_mails_sent_user_id_mailed_at", "unread_mails_sent", ["user_id", "mailed_at"])


def downgrade():
    op.drop_table("unread_mails_sent")
    op.drop_index("ix_conversations_unread_since", table_name="conversations")
    op.drop_column("conversations", "unread_since")
    op.drop_table("push_subscriptions")
    op.drop_table("notification_settings")
