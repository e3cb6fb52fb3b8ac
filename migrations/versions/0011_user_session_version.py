"""auth: users carry a session version that sign-out and access changes move

Revision ID: 0011_user_session_version
Revises: 0010_reply_send_started

Sessions are signed cookies, so nothing on the server could end one: a copied cookie kept working
after sign-out. Each session and remember-me cookie now names the version it was signed in at;
sign-out, a role or password change and deactivation move it, and older cookies stop working.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_user_session_version"
down_revision = "0010_reply_send_started"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    op.drop_column("users", "session_version")
