"""auth: one row per signed-in browser; audit log paged by (created_at, id)

Revision ID: 0014_audit_and_sessions
Revises: 0013_two_factor

user_sessions holds one row per signed-in browser, named by the opaque key its session and
remember-me cookie carry: a person sees where they are signed in and ends any one of them.

The audit log page reads a church's events newest first, keyset-paged on (created_at, id), for
everyone or for one person: the index over (church_id, created_at DESC) alone left the tie-break
to a sort. Actions are now past tense (member.created, not member.create), the names the page and
its filter use; the few rows written under the old names are renamed.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_audit_and_sessions"
down_revision = "0013_two_factor"
branch_labels = None
depends_on = None

RENAMED = {
    "member.create": "member.created",
    "member.update": "member.updated",
    "member.delete": "member.deleted",
    "member.note": "member.noted",
    "member.bulk_delete": "members.deleted",
    "group.create": "group.created",
    "group.update": "group.updated",
    "group.delete": "group.deleted",
    "group.add_members": "group.members_added",
    "group.remove_members": "group.members_removed",
    "group.assign_leader": "group.leader_assigned",
    "group.remove_leader": "group.leader_removed",
}


def upgrade():
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("session_version", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["church_id"], ["churches.id"], name=op.f("fk_user_sessions_church_id_churches"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_sessions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
    )
    op.create_index("ix_user_sessions_church_id", "user_sessions", ["church_id"])
    op.create_index("ix_user_sessions_user_id_last_seen_at", "user_sessions", ["user_id", sa.text("last_seen_at DESC")])

    op.drop_index("ix_audit_log_church_id_created_at", table_name="audit_log")
    op.create_index(
        "ix_audit_log_church_id_created_at_id", "audit_log", ["church_id", sa.text("created_at DESC"), sa.text("id DESC")]
    )
    op.create_index(
        "ix_audit_log_church_id_user_id_created_at_id",
        "audit_log",
        ["church_id", "user_id", sa.text("created_at DESC"), sa.text("id DESC")],
    )
    _rename(RENAMED)


def downgrade():
    _rename({new: old for old, new in RENAMED.items()})
    op.drop_index("ix_audit_log_church_id_user_id_created_at_id", table_name="audit_log")
    op.drop_index("ix_audit_log_church_id_created_at_id", table_name="audit_log")
    op.create_index("ix_audit_log_church_id_created_at", "audit_log", ["church_id", sa.text("created_at DESC")])
    op.drop_index("ix_user_sessions_user_id_last_seen_at", table_name="user_sessions")
    op.drop_index("ix_user_sessions_church_id", table_name="user_sessions")
    op.drop_table("user_sessions")


def _rename(names: dict[str, str]) -> None:
    for old, new in names.items():
        op.execute(sa.text("UPDATE audit_log SET action = :new WHERE action = :old").bindparams(old=old, new=new))
