"""automations: workflows, their steps, enrollments and step runs; automated conversation messages

Revision ID: 0026_automations
Revises: 0023_planning_center

A workflow enrolls a member at most once (unique workflow_id, member_id); a step runs at most once
per enrollment (unique enrollment_id, position). conversation_messages.automated marks the texts
an automation sent, which the send job refuses for someone opted out.
"""

import sqlalchemy as sa
from alembic import op

revision = "0026_automations"
down_revision = "0023_planning_center"
branch_labels = None
depends_on = None


def _in(column, values):
    return column + " IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    op.create_table(
        "workflows",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("trigger_group_id", sa.BigInteger(), nullable=True),
        sa.Column("trigger_keyword_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("active_since", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("exit_on_reply", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("exit_group_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(_in("trigger", ("connect_card", "group_joined", "keyword", "first_text")), name="trigger"),
        sa.CheckConstraint(_in("status", ("active", "paused")), name="status"),
        sa.ForeignKeyConstraint(["church_id"], ["churches.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["trigger_group_id"], ["groups.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["trigger_keyword_id"], ["keywords.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["exit_group_id"], ["groups.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_workflows"),
        sa.UniqueConstraint("church_id", "id", name="uq_workflows_church_id_id"),
    )
    op.create_index("ix_workflows_church_id", "workflows", ["church_id"])

    op.create_table(
        "workflow_steps",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("wait_minutes", sa.BigInteger(), nullable=True),
        sa.Column("at_time", sa.Time(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("group_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            _in("kind", ("wait", "wait_until", "text", "add_group", "remove_group", "assign", "notify")), name="kind"
        ),
        sa.ForeignKeyConstraint(["church_id"], ["churches.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workflow_id"], ["workflows.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_workflow_steps"),
        sa.UniqueConstraint("church_id", "id", name="uq_workflow_steps_church_id_id"),
    )
    op.create_index("ix_workflow_steps_church_id", "workflow_steps", ["church_id"])
    op.create_index(
        "uq_workflow_steps_workflow_id_position", "workflow_steps", ["workflow_id", "position"], unique=True
    )

    op.create_table(
        "workflow_enrollments",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("member_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("position", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hold_reason", sa.String(length=32), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exit_reason", sa.String(length=16), nullable=True),
        sa.CheckConstraint(_in("status", ("active", "completed", "exited")), name="status"),
        sa.ForeignKeyConstraint(["church_id"], ["churches.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workflow_id"], ["workflows.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_workflow_enrollments"),
        sa.UniqueConstraint("church_id", "id", name="uq_workflow_enrollments_church_id_id"),
    )
    op.create_index("ix_workflow_enrollments_church_id", "workflow_enrollments", ["church_id"])
    op.create_index("ix_workflow_enrollments_member_id", "workflow_enrollments", ["member_id"])
    op.create_index(
        "uq_workflow_enrollments_workflow_id_member_id",
        "workflow_enrollments",
        ["workflow_id", "member_id"],
        unique=True,
    )
    op.create_index(
        "ix_workflow_enrollments_due", "workflow_enrollments", ["due_at"], postgresql_where=sa.text("status = 'active'")
    )

    op.create_table(
        "workflow_step_runs",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("enrollment_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["church_id"], ["churches.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workflow_id"], ["workflows.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["enrollment_id"], ["workflow_enrollments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["conversation_messages.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_workflow_step_runs"),
        sa.UniqueConstraint("church_id", "id", name="uq_workflow_step_runs_church_id_id"),
    )
    op.create_index("ix_workflow_step_runs_church_id", "workflow_step_runs", ["church_id"])
    op.create_index(
        "uq_workflow_step_runs_enrollment_id_position",
        "workflow_step_runs",
        ["enrollment_id", "position"],
        unique=True,
    )
    op.create_index("ix_workflow_step_runs_workflow_id_position", "workflow_step_runs", ["workflow_id", "position"])

    op.add_column(
        "conversation_messages", sa.Column("automated", sa.Boolean(), server_default="false", nullable=False)
    )
    # What the "first text" trigger scans every pass: built without blocking the inbox's writes.
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_conversation_messages_inbound",
            "conversation_messages",
            ["church_id", "created_at"],
            postgresql_where=sa.text("direction = 'in'"),
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade():
    op.drop_index("ix_conversation_messages_inbound", table_name="conversation_messages")
    op.drop_column("conversation_messages", "automated")
    op.drop_table("workflow_step_runs")
    op.drop_table("workflow_enrollments")
    op.drop_table("workflow_steps")
    op.drop_table("workflows")
