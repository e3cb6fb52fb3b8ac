"""accounts: one-time account tokens, verified emails, onboarding

Revision ID: 0012_accounts_mail
Revises: 0011_user_session_version

Password resets and sign-up verifications mail a one-time link. Only the sha256 of its token is
stored, so a copy of the table opens nothing; a token is spent by the one UPDATE that sets
used_at, so two clicks cannot both use it. A sign-up keeps what was typed in `payload` until its
link is opened: no church or user exists for an address nobody has confirmed.

Users made before this revision were made by an operator, who vouched for the address; churches
made before it were set up by hand and show no onboarding checklist.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012_accounts_mail"
down_revision = "0011_user_session_version"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("church_id", sa.BigInteger(), sa.ForeignKey("churches.id", ondelete="CASCADE"), nullable=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("payload", postgresql.JSONB(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_account_tokens_token_hash"),
    )
    op.create_index("ix_account_tokens_church_id", "account_tokens", ["church_id"])
    op.create_index("ix_account_tokens_user_id", "account_tokens", ["user_id"])
    op.add_column("users", sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET email_verified_at = created_at")
    op.add_column("churches", sa.Column("onboarded_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE churches SET onboarded_at = created_at")


def downgrade():
    op.drop_column("churches", "onboarded_at")
    op.drop_column("users", "email_verified_at")
    op.drop_table("account_tokens")
