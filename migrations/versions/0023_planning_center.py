"""planning center: a church's connection, its lists, sync runs and the people it linked

Revision ID: 0023_planning_center
Revises: 0022_webhooks_out

pco_connections keeps one church's sealed personal access token and the sync cursor; pco_lists the
church's Planning Center lists and the group each fills; pco_syncs one row per run, which is both
the resumable state (committed with each page) and the report; pco_people which member each
Planning Center person became. At most one queued or running sync per church (partial unique index).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0023_planning_center"
down_revision = "0022_webhooks_out"
branch_labels = None
depends_on = None


def _now():
    return sa.text("now()")


def upgrade():
    op.create_table(
        "pco_connections",
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("app_id_hint", sa.String(length=8), nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=True),
        sa.Column("connected_by", sa.BigInteger(), nullable=True),
        sa.Column("consent_attested", sa.Boolean(), nullable=False),
        sa.Column("cursor", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["church_id"], ["churches.id"], name=op.f("fk_pco_connections_church_id_churches"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["connected_by"], ["users.id"], name=op.f("fk_pco_connections_connected_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("church_id", name=op.f("pk_pco_connections")),
    )
    op.create_table(
        "pco_lists",
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("pco_list_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("total_people", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["church_id"], ["churches.id"], name=op.f("fk_pco_lists_church_id_churches"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["church_id", "group_id"],
            ["groups.church_id", "groups.id"],
            name="fk_pco_lists_church_id_group_id_groups",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("church_id", "pco_list_id", name=op.f("pk_pco_lists")),
    )
    op.create_index("ix_pco_lists_church_id_group_id", "pco_lists", ["church_id", "group_id"])
    op.create_table(
        "pco_syncs",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("high_water", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_url", sa.Text(), nullable=True),
        sa.Column("list_position", sa.Integer(), nullable=False),
        sa.Column("total_people", sa.Integer(), nullable=True),
        sa.Column("people_seen", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("memberships_added", sa.Integer(), nullable=False),
        sa.Column("skipped_people", postgresql.JSONB(), nullable=False),
        sa.Column("throttled", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("job_id", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_pco_syncs_status")
        ),
        sa.CheckConstraint("phase IN ('people', 'lists', 'finished')", name=op.f("ck_pco_syncs_phase")),
        sa.ForeignKeyConstraint(
            ["church_id"], ["churches.id"], name=op.f("fk_pco_syncs_church_id_churches"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_pco_syncs_user_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pco_syncs")),
    )
    op.create_index(
        "uq_pco_syncs_church_id_active",
        "pco_syncs",
        ["church_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )
    # Unique (id alone is): the table keys on church_id, ready to be distributed on it.
    op.create_index("ix_pco_syncs_church_id_id", "pco_syncs", ["church_id", "id"], unique=True)
    op.create_table(
        "pco_people",
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("pco_person_id", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("pco_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["church_id"], ["churches.id"], name=op.f("fk_pco_people_church_id_churches"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["church_id", "member_id"],
            ["members.church_id", "members.id"],
            name="fk_pco_people_church_id_member_id_members",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("church_id", "pco_person_id", name=op.f("pk_pco_people")),
    )
    op.create_index("ix_pco_people_church_id_member_id", "pco_people", ["church_id", "member_id"])


def downgrade():
    op.drop_table("pco_people")
    op.drop_table("pco_syncs")
    op.drop_table("pco_lists")
    op.drop_table("pco_connections")
