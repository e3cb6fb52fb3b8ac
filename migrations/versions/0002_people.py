"""people: search indexes and member columns

Revision ID: 0002_people
Revises: 0001_initial

Indexes that keep the member list fast at 100,000 members in one church:

- Search: trigram GIN (pg_trgm) over "first last" and over email (kept apart so that a one- or
  two-letter word, which matches the start of a name, is not drowned by every "@example.net"),
  and over phone_e164. pg_trgm only indexes alphanumerics,
  so the "+" of E.164 is ignored and the phone index already is an index of the phone's digits:
  "0142", "(312) 555-0142" and "+1 312 555" all become `phone_e164 LIKE '%<digits>%'`. A generated
  digits column would store the same trigrams twice over for nothing, and a text_pattern_ops
  B-tree only serves prefixes ("+1312…"), not the last four digits people actually type.
- Keyset: one B-tree per sort, (church_id, sort key…, id), read forwards or backwards.
"""

from alembic import op

revision = "0002_people"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

# Kept in step with app.models.people.MEMBER_NAME_SQL: the planner only uses the index for the same expression.
NAME_EXPR = "(first_name || ' ' || last_name)"


def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(f"CREATE INDEX ix_members_name_trgm ON members USING gin ({NAME_EXPR} gin_trgm_ops)")
    op.execute("CREATE INDEX ix_members_email_trgm ON members USING gin (email gin_trgm_ops)")
    op.execute("CREATE INDEX ix_members_phone_trgm ON members USING gin (phone_e164 gin_trgm_ops)")
    op.execute("CREATE INDEX ix_members_church_id_name ON members (church_id, lower(last_name), lower(first_name), id)")
    op.execute("CREATE INDEX ix_members_church_id_created_at ON members (church_id, created_at, id)")


def downgrade():
    op.execute("DROP INDEX IF EXISTS ix_members_church_id_created_at")
    op.execute("DROP INDEX IF EXISTS ix_members_church_id_name")
    op.execute("DROP INDEX IF EXISTS ix_members_phone_trgm")
    op.execute("DROP INDEX IF EXISTS ix_members_email_trgm")
    op.execute("DROP INDEX IF EXISTS ix_members_name_trgm")
    # The extension stays: other objects may have come to depend on it.
