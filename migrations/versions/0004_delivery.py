"""delivery engine

Revision ID: 0004_delivery
Revises: 0003_imports
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004_delivery"
down_revision = "0003_imports"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
