"""inbox and inbound messages

Revision ID: 0006_inbox
Revises: 0005_composer
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0006_inbox"
down_revision = "0005_composer"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
