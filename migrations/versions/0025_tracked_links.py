"""tracked links: a broadcast's links, one short code per recipient and link, and their clicks

Revision ID: 0025_tracked_links
Revises: 0024_custom_fields

broadcasts.track_links (and schedules.track_links, for each run) says the composer's "Track links"
was ticked. tracked_links holds each link
of such a broadcast (in body order, with where it sits in the body, so a text sent after a
deploy replaces exactly what was found when it was written); link_codes one unguessable code per recipient and link, which
`/l/<code>` looks up by primary key (collation "C": codes are case-sensitive ASCII and compare
bytewise). Clicks are counted on the code row by a periodic job, so the redirect never writes.
"""

import sqlalchemy as sa
from alembic import op

revision = "0025_tracked_links"
down_revision = "0024_custom_fields"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("broadcasts", sa.Column("track_links", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("schedules", sa.Column("track_links", sa.Boolean(), server_default="false", nullable=False))
    op.create_table(
        "tracked_links",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("broadcast_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("span_start", sa.Integer(), nullable=False),
        sa.Column("span_end", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["church_id"], ["churches.id"], name=op.f("fk_tracked_links_church_id_churches"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcasts.id"], name=op.f("fk_tracked_links_broadcast_id_broadcasts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracked_links")),
        sa.UniqueConstraint("church_id", "id", name="uq_tracked_links_church_id_id"),
    )
    op.create_index(
        "uq_tracked_links_broadcast_id_position", "tracked_links", ["broadcast_id", "position"], unique=True
    )
    op.create_index("ix_tracked_links_church_id", "tracked_links", ["church_id"])
    op.create_table(
        "link_codes",
        sa.Column("code", sa.String(length=16, collation="C"), nullable=False),
        sa.Column("church_id", sa.BigInteger(), nullable=False),
        sa.Column("link_id", sa.BigInteger(), nullable=False),
        sa.Column("recipient_id", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("bot_clicks", sa.Integer(), server_default="0", nullable=False),
        sa.Column("first_clicked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_clicked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["church_id"], ["churches.id"], name=op.f("fk_link_codes_church_id_churches"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["link_id"], ["tracked_links.id"], name=op.f("fk_link_codes_link_id_tracked_links"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["broadcast_recipients.id"],
            name=op.f("fk_link_codes_recipient_id_broadcast_recipients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_link_codes")),
    )
    # The claim reads a recipient's codes; the unique pair also keeps one code per recipient and link.
    op.create_index("uq_link_codes_recipient_id_link_id", "link_codes", ["recipient_id", "link_id"], unique=True)
    # The broadcast page sums a link's clicks without visiting the table.
    op.create_index(
        "ix_link_codes_link_id",
        "link_codes",
        ["link_id"],
        postgresql_include=["clicks", "bot_clicks"],
    )
    op.create_index("ix_link_codes_church_id", "link_codes", ["church_id"])


def downgrade():
    op.drop_table("link_codes")
    op.drop_table("tracked_links")
    op.drop_column("schedules", "track_links")
    op.drop_column("broadcasts", "track_links")
