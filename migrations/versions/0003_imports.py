"""CSV member imports

Revision ID: 0003_imports
Revises: 0002_people
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003_imports"
down_revision = "0002_people"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
