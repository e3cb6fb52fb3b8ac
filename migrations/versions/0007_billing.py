"""billing and dashboard stats

Revision ID: 0007_billing
Revises: 0006_inbox
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_billing"
down_revision = "0006_inbox"
branch_labels = None
depends_on = None

# Member counts per church, kept exact by statement-level triggers with transition tables:
# an import of 100k rows adds one upsert per statement, not one per row, and the dashboard
# reads two integers instead of counting 100k index entries on every page load.
MEMBER_COUNTS_FUNCTION = """
CREATE OR REPLACE FUNCTION member_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO member_counts AS mc (church_id, opted_in, opted_out)
        SELECT church_id, count(*) FILTER (WHERE opted_out_at IS NULL), count(*) FILTER (WHERE opted_out_at IS NOT NULL)
        FROM new_rows GROUP BY church_id
        ON CONFLICT (church_id) DO UPDATE
        SET opted_in = mc.opted_in + excluded.opted_in, opted_out = mc.opted_out + excluded.opted_out;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE member_counts AS mc
        SET opted_in = mc.opted_in - d.opted_in, opted_out = mc.opted_out - d.opted_out
        FROM (
            SELECT church_id, count(*) FILTER (WHERE opted_out_at IS NULL) AS opted_in,
                   count(*) FILTER (WHERE opted_out_at IS NOT NULL) AS opted_out
            FROM old_rows GROUP BY church_id
        ) d
        WHERE mc.church_id = d.church_id;
    ELSE
        INSERT INTO member_counts AS mc (church_id, opted_in, opted_out)
        SELECT church_id, sum(i), sum(o) FROM (
            SELECT church_id, (opted_out_at IS NULL)::int AS i, (opted_out_at IS NOT NULL)::int AS o FROM new_rows
            UNION ALL
            SELECT church_id, -(opted_out_at IS NULL)::int, -(opted_out_at IS NOT NULL)::int FROM old_rows
        ) d
        GROUP BY church_id HAVING sum(i) <> 0 OR sum(o) <> 0
        ON CONFLICT (church_id) DO UPDATE
        SET opted_in = mc.opted_in + excluded.opted_in, opted_out = mc.opted_out + excluded.opted_out;
    END IF;
    RETURN NULL;
END
$$;
"""

INDEXES = {
    # Median first-response time over the period's conversations: an index-only range read.
    "ix_conversations_church_first_response": (
        "conversations (church_id, first_response_at) INCLUDE (created_at, last_inbound_at) "
        "WHERE first_response_at IS NOT NULL"
    ),
    # "Next scheduled" cards: a church's due broadcasts and enabled schedules, soonest first.
    "ix_broadcasts_church_scheduled": "broadcasts (church_id, scheduled_at) WHERE status = 'scheduled'",
    "ix_schedules_church_next_run": "schedules (church_id, next_run_at) WHERE enabled",
    # Stripe state by customer id, for events that carry only the customer.
    "ix_subscriptions_stripe_customer_id": "subscriptions (stripe_customer_id)",
}


def upgrade():
    # The subscription item a plan change swaps the price of (Customer Portal update flow).
    op.add_column("subscriptions", sa.Column("stripe_item_id", sa.String(255), nullable=True))
    op.create_table(
        "member_counts",
        sa.Column("church_id", sa.BigInteger(), sa.ForeignKey("churches.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("opted_in", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("opted_out", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.execute(MEMBER_COUNTS_FUNCTION)
    for event, tables in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER member_counts_{event.lower()} AFTER {event} ON members "
            f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION member_counts_apply()"
        )
    op.execute(
        "INSERT INTO member_counts (church_id, opted_in, opted_out) "
        "SELECT c.id, count(m.id) FILTER (WHERE m.id IS NOT NULL AND m.opted_out_at IS NULL), "
        "count(m.id) FILTER (WHERE m.opted_out_at IS NOT NULL) "
        "FROM churches c LEFT JOIN members m ON m.church_id = c.id GROUP BY c.id"
    )
    for name, definition in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def downgrade():
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS member_counts_{event} ON members")
    op.execute("DROP FUNCTION IF EXISTS member_counts_apply()")
    op.drop_table("member_counts")
    op.drop_column("subscriptions", "stripe_item_id")
