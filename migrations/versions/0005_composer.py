"""broadcast composer and schedules

Revision ID: 0005_composer
Revises: 0004_delivery
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005_composer"
down_revision = "0004_delivery"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
