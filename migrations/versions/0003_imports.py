"""CSV member imports

Revision ID: 0003_imports
Revises: 0002_people
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003_imports"
down_revision = "0002_people"
branch_labels = None
depends_on = None

STATUSES = "status IN ('draft', 'queued', 'running', 'done', 'failed')"


def upgrade():
    op.create_table(
        "member_imports",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("encoding", sa.String(length=32), server_default="utf-8", nullable=False),
        sa.Column("delimiter", sa.String(length=1), server_default=",", nullable=False),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("mapping", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("update_existing", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("consent_attested", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("status", sa.String(length=16), server_default="draft", nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("total_rows", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("read_rows", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("imported", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("skipped", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("failed", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("groups_created", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("failures", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(STATUSES, name=op.f("ck_member_imports_status")),
        sa.ForeignKeyConstraint(
            ["church_id"], ["churches.id"], name=op.f("fk_member_imports_church_id_churches"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_member_imports_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_imports")),
    )
    op.create_index(op.f("ix_member_imports_church_id"), "member_imports", ["church_id"])
    op.create_index("ix_member_imports_church_id_created_at", "member_imports", ["church_id", "created_at"])
    # The file is read whole by the job; keep it out of line and uncompressed (CSV compresses, but
    # pglz on 20 MB costs more time than the disk it saves for a row that lives a few weeks).
    op.execute("ALTER TABLE member_imports ALTER COLUMN content SET STORAGE EXTERNAL")


def downgrade():
    op.drop_index("ix_member_imports_church_id_created_at", table_name="member_imports")
    op.drop_index(op.f("ix_member_imports_church_id"), table_name="member_imports")
    op.drop_table("member_imports")
