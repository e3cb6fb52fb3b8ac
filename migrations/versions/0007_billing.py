"""billing and dashboard stats

Revision ID: 0007_billing
Revises: 0006_inbox
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0007_billing"
down_revision = "0006_inbox"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
