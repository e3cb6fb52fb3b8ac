"""people: the member list's sort indexes carry what its filters read

Revision ID: 0009_member_sort_index_include
Revises: 0008_tenant_foreign_keys

A filtered page of the member list first reads a window of the next few thousand members in sort
order and keeps the matches (app.people.keyset). Read through (church_id, lower(last_name),
lower(first_name), id), that window cost one heap page per row: the heap is in insertion order, not
in name order, so 2,000 rows were some 2,000 pages. With the columns the filters read (name, email,
opt-out, branch) INCLUDEd, the window is an index-only scan of a few dozen pages, which lets it read
three times as far for less: most searches fill their page from it.

Index-only scans skip the heap for pages the visibility map marks all-visible, which autovacuum
keeps up to date (it also runs after large inserts, such as an import).

Built concurrently under a new name, then swapped, so a live members table is not locked.
"""

from alembic import op

revision = "0009_member_sort_index_include"
down_revision = "0008_tenant_foreign_keys"
branch_labels = None
depends_on = None

INCLUDED = "first_name, last_name, email, opted_out_at, branch_id"
INDEXES = {
    "ix_members_church_id_name": "church_id, lower(last_name), lower(first_name), id",
    "ix_members_church_id_created_at": "church_id, created_at, id",
}


def _rebuild(include: str) -> None:
    with op.get_context().autocommit_block():
        for name, keys in INDEXES.items():
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}_new")
            op.execute(f"CREATE INDEX CONCURRENTLY {name}_new ON members ({keys}){include}")
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            op.execute(f"ALTER INDEX {name}_new RENAME TO {name}")


def upgrade():
    _rebuild(f" INCLUDE ({INCLUDED})")


def downgrade():
    _rebuild("")
