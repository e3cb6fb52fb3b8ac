"""auth: two-factor sign-in (authenticator app, recovery codes, passkeys) and a church-wide requirement

Revision ID: 0013_two_factor
Revises: 0012_accounts_mail

An authenticator app's secret is stored encrypted and remembers the last 30-second step a code
was accepted for, so a code works once. Recovery codes are stored as hashes, each used once.
Passkeys keep their public key and signature counter. users.two_factor_enabled says whether any
of these is on, and churches.require_two_factor makes it a condition of using the church.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_two_factor"
down_revision = "0012_accounts_mail"
branch_labels = None
depends_on = None


def _tenant_and_user():
    return [
        sa.Column("church_id", sa.BigInteger(), sa.ForeignKey("churches.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    ]


def upgrade():
    op.add_column("churches", sa.Column("require_two_factor", sa.Boolean(), nullable=False, server_default="false"))
    op.add_column("users", sa.Column("two_factor_enabled", sa.Boolean(), nullable=False, server_default="false"))

    op.create_table(
        "totp_secrets",
        *_tenant_and_user(),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.Column("last_used_step", sa.BigInteger()),
        sa.PrimaryKeyConstraint("user_id", name="pk_totp_secrets"),
    )
    op.create_index("ix_totp_secrets_church_id", "totp_secrets", ["church_id"])

    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        *_tenant_and_user(),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_recovery_codes_church_id", "recovery_codes", ["church_id"])
    op.create_index("uq_recovery_codes_user_id_code_hash", "recovery_codes", ["user_id", "code_hash"], unique=True)

    op.create_table(
        "passkeys",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        *_tenant_and_user(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("user_handle", sa.LargeBinary(), nullable=False),
        sa.Column("transports", sa.String(200)),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("credential_id", name="uq_passkeys_credential_id"),
    )
    op.create_index("ix_passkeys_church_id", "passkeys", ["church_id"])
    op.create_index("ix_passkeys_user_id", "passkeys", ["user_id"])


def downgrade():
    op.drop_table("passkeys")
    op.drop_table("recovery_codes")
    op.drop_table("totp_secrets")
    op.drop_column("users", "two_factor_enabled")
    op.drop_column("churches", "require_two_factor")
