"""connect card: a church's public sign-up page and the cards people send in

Revision ID: 0021_connect_card
Revises: 0019_api_keys

connect_cards holds one church's settings (one row per church). connect_submissions keeps every
card sent in, with the answers to the church's questions; a row in status 'pending' is the double
opt-in marker that an inbound YES looks for (partial index).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021_connect_card"
down_revision = "0019_api_keys"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "connect_cards",
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("intro", sa.Text(), nullable=True),
        sa.Column("questions", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("group_ids", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("frequency", sa.String(length=60), server_default="Up to 4 msgs/month", nullable=False),
        sa.Column("allowed_origins", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["church_id"], ["churches.id"], name=op.f("fk_connect_cards_church_id_churches"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("church_id", name=op.f("pk_connect_cards")),
    )
    op.create_table(
        "connect_submissions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("answers", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("group_ids", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'no_consent', 'suppressed', 'stopped', 'expired')",
            name=op.f("ck_connect_submissions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["church_id", "member_id"],
            ["members.church_id", "members.id"],
            name="fk_connect_submissions_church_id_member_id_members",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connect_submissions")),
    )
    op.create_index(
        "ix_connect_submissions_pending",
        "connect_submissions",
        ["member_id"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_connect_submissions_church_id_created_at", "connect_submissions", ["church_id", "created_at"]
    )


def downgrade():
    op.drop_table("connect_submissions")
    op.drop_table("connect_cards")
