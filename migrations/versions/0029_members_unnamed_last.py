"""people: members without a name sort after every name

Revision ID: 0029_members_unnamed_last
Revises: 0021_connect_card

Someone who texts in before the church knows them is stored with empty names, and '' sorts before
every letter, so the member list opened on a page of "Unknown" rows. The name sort now leads with
"has no name" (false before true), read off the index it walks, so they come last in A→Z (first in
Z→A, as NULLS LAST / NULLS FIRST would). A NULL name would do the same for ORDER BY but breaks the
row comparison keyset paging relies on, hence a boolean key.

Built concurrently under a new name, then swapped, so a live members table is not locked.
"""

from alembic import op

revision = "0029_members_unnamed_last"
down_revision = "0021_connect_card"
branch_labels = None
depends_on = None

INCLUDED = "first_name, last_name, email, opted_out_at, branch_id"
UNNAMED = "(first_name = '' AND last_name = '')"


def _rebuild(keys: str) -> None:
    name = "ix_members_church_id_name"
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}_new")
        op.execute(f"CREATE INDEX CONCURRENTLY {name}_new ON members ({keys}) INCLUDE ({INCLUDED})")
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        op.execute(f"ALTER INDEX {name}_new RENAME TO {name}")


def upgrade():
    _rebuild(f"church_id, {UNNAMED}, lower(last_name), lower(first_name), id")


def downgrade():
    _rebuild("church_id, lower(last_name), lower(first_name), id")
