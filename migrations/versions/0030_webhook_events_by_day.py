"""ops: provider webhooks partitioned by day, so retention drops days instead of deleting rows

Revision ID: 0030_webhook_events_by_day
Revises: 0029_members_unnamed_last

webhook_events gains `occurred_at` (the provider's time of the event, which a redelivery repeats)
and becomes a table partitioned by range on it, one partition per day plus a default. Its unique
key becomes (provider, event_id, occurred_at): a partitioned table's unique keys must hold the
partition key, and since a redelivery carries the same occurred_at it still stores an event once.

The old rows are copied over (occurred_at from the payload where it says, else received_at), and
the old table dropped; the id sequence carries on. Partitions are made for the retention window
(30 days, the default of WEBHOOK_EVENTS_RETENTION_DAYS) and the next week; older rows go to the
default partition, which app.partitions.maintain prunes.
"""

from alembic import op

revision = "0030_webhook_events_by_day"
down_revision = "0029_members_unnamed_last"
branch_labels = None
depends_on = None

COLUMNS = "id, provider, event_id, event_type, payload, church_id, received_at, processed_at, attempts, error"
OCCURRED = """COALESCE(
    CASE WHEN provider = 'stripe' AND jsonb_typeof(payload -> 'created') = 'number'
         THEN to_timestamp((payload ->> 'created')::double precision) END,
    CASE WHEN (payload -> 'data' ->> 'occurred_at') ~ '^\\d{4}-\\d{2}-\\d{2}T[0-9:.]+(Z|[+-]\\d{2}:?\\d{2})?$'
         THEN (payload -> 'data' ->> 'occurred_at')::timestamptz END,
    received_at)"""


def upgrade():
    op.execute("ALTER TABLE webhook_events RENAME TO webhook_events_unpartitioned")
    op.execute("ALTER TABLE webhook_events_unpartitioned RENAME CONSTRAINT pk_webhook_events TO pk_webhook_events_old")
    op.execute(
        "ALTER TABLE webhook_events_unpartitioned "
        "RENAME CONSTRAINT fk_webhook_events_church_id_churches TO fk_webhook_events_old_church_id_churches"
    )
    op.execute("ALTER INDEX uq_webhook_events_provider_event_id RENAME TO uq_webhook_events_old_provider_event_id")
    op.execute("ALTER INDEX ix_webhook_events_pending RENAME TO ix_webhook_events_old_pending")
    op.execute(
        """
        CREATE TABLE webhook_events (
            id bigint NOT NULL DEFAULT nextval('webhook_events_id_seq'),
            provider varchar(16) NOT NULL,
            event_id varchar(128) NOT NULL,
            event_type varchar(64) NOT NULL,
            payload jsonb NOT NULL,
            church_id bigint,
            occurred_at timestamptz NOT NULL DEFAULT now(),
            received_at timestamptz NOT NULL DEFAULT now(),
            processed_at timestamptz,
            attempts bigint NOT NULL DEFAULT 0,
            error text,
            CONSTRAINT pk_webhook_events PRIMARY KEY (id, occurred_at),
            CONSTRAINT fk_webhook_events_church_id_churches FOREIGN KEY (church_id)
                REFERENCES churches (id) ON DELETE SET NULL
        ) PARTITION BY RANGE (occurred_at)
        """
    )
    op.execute("ALTER SEQUENCE webhook_events_id_seq OWNED BY webhook_events.id")
    op.execute(
        "CREATE UNIQUE INDEX uq_webhook_events_provider_event_id ON webhook_events (provider, event_id, occurred_at)"
    )
    op.execute("CREATE INDEX ix_webhook_events_pending ON webhook_events (id) WHERE processed_at IS NULL")
    op.execute("CREATE TABLE webhook_events_default PARTITION OF webhook_events DEFAULT")
    op.execute(
        """
        DO $$
        DECLARE day date;
        BEGIN
            FOR day IN SELECT generate_series((now() AT TIME ZONE 'UTC')::date - 30, (now() AT TIME ZONE 'UTC')::date + 7, interval '1 day')::date LOOP
                EXECUTE 'CREATE TABLE ' || quote_ident('webhook_events_p' || to_char(day, 'YYYYMMDD'))
                    || ' PARTITION OF webhook_events FOR VALUES FROM ('
                    || quote_literal(day::timestamp AT TIME ZONE 'UTC') || ') TO ('
                    || quote_literal((day + 1)::timestamp AT TIME ZONE 'UTC') || ')';
            END LOOP;
        END $$
        """
    )
    op.execute(
        f"INSERT INTO webhook_events ({COLUMNS}, occurred_at) "
        f"SELECT {COLUMNS}, {OCCURRED} FROM webhook_events_unpartitioned"
    )
    op.execute("DROP TABLE webhook_events_unpartitioned")


def downgrade():
    op.execute("ALTER TABLE webhook_events RENAME TO webhook_events_partitioned")
    op.execute("ALTER TABLE webhook_events_partitioned RENAME CONSTRAINT pk_webhook_events TO pk_webhook_events_part")
    op.execute(
        "ALTER TABLE webhook_events_partitioned "
        "RENAME CONSTRAINT fk_webhook_events_church_id_churches TO fk_webhook_events_part_church_id_churches"
    )
    op.execute("ALTER INDEX uq_webhook_events_provider_event_id RENAME TO uq_webhook_events_part_provider_event_id")
    op.execute("ALTER INDEX ix_webhook_events_pending RENAME TO ix_webhook_events_part_pending")
    op.execute(
        """
        CREATE TABLE webhook_events (
            provider varchar(16) NOT NULL,
            event_id varchar(128) NOT NULL,
            event_type varchar(64) NOT NULL,
            payload jsonb NOT NULL,
            church_id bigint,
            received_at timestamptz NOT NULL DEFAULT now(),
            processed_at timestamptz,
            attempts bigint NOT NULL DEFAULT 0,
            error text,
            id bigint NOT NULL DEFAULT nextval('webhook_events_id_seq'),
            CONSTRAINT pk_webhook_events PRIMARY KEY (id),
            CONSTRAINT fk_webhook_events_church_id_churches FOREIGN KEY (church_id)
                REFERENCES churches (id) ON DELETE SET NULL
        )
        """
    )
    op.execute("ALTER SEQUENCE webhook_events_id_seq OWNED BY webhook_events.id")
    # Older copies of one event (kept apart by occurred_at) collapse to the first.
    op.execute(
        f"INSERT INTO webhook_events ({COLUMNS}) SELECT DISTINCT ON (provider, event_id) {COLUMNS} "
        "FROM webhook_events_partitioned ORDER BY provider, event_id, id"
    )
    op.execute("DROP TABLE webhook_events_partitioned")
    op.execute("CREATE UNIQUE INDEX uq_webhook_events_provider_event_id ON webhook_events (provider, event_id)")
    op.execute("CREATE INDEX ix_webhook_events_pending ON webhook_events (id) WHERE processed_at IS NULL")
