"""broadcasts: an optional title, so the list can be scanned

Revision ID: 0016_broadcast_title
Revises: 0011_user_session_version

A broadcast was listed by the start of its body, merge fields and all. Admins may now name it;
without a name the pages show the first words of the body with readable placeholders.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_broadcast_title"
down_revision = "0011_user_session_version"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("broadcasts", sa.Column("title", sa.String(length=80), nullable=True))


def downgrade():
    op.drop_column("broadcasts", "title")
