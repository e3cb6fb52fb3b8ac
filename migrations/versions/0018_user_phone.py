"""users: an optional mobile number, where "send a test to myself" texts a draft broadcast

Revision ID: 0018_user_phone
Revises: 0016_broadcast_title

Staff set it on /account; it is stored in E.164 like every other number.
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_user_phone"
down_revision = "0016_broadcast_title"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("phone_e164", sa.String(length=20), nullable=True))


def downgrade():
    op.drop_column("users", "phone_e164")
