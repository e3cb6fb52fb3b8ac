"""people: memberships and consent rows point at members and groups of their own church

Revision ID: 0008_tenant_foreign_keys
Revises: 0007_billing

group_members and consent_events each checked church_id against churches and member_id (and
group_id) against members (and groups) separately: one foreign-key lookup per key per row, so a
100,000-member import paid 100,000 church lookups for its consent rows and another one per
membership, each confirming the one church the import runs in. A single key over (church_id,
member_id) → members (church_id, id) checks both at once and says more: a membership or a consent
row cannot join a member of another church. It is also the shape Citus needs (church_id is the
distribution key), where foreign keys between distributed tables include it.

The church still reaches every row by cascade: deleting a church deletes its members and groups,
and they delete their memberships and consent rows. (church_id, id) is unique on members and groups
for the new keys to reference; it replaces the plain church_id index, which it serves as well.
"""

from alembic import op

revision = "0008_tenant_foreign_keys"
down_revision = "0007_billing"
branch_labels = None
depends_on = None

# The keys this revision adds: (table, columns, referenced table); they reference (church_id, id).
NEW_KEYS = {
    "fk_group_members_church_id_member_id_members": ("group_members", ["church_id", "member_id"], "members"),
    "fk_group_members_church_id_group_id_groups": ("group_members", ["church_id", "group_id"], "groups"),
    "fk_consent_events_church_id_member_id_members": ("consent_events", ["church_id", "member_id"], "members"),
}
# The single-column keys they replace: (table, column, referenced table).
OLD_KEYS = {
    "fk_group_members_church_id_churches": ("group_members", "church_id", "churches"),
    "fk_group_members_member_id_members": ("group_members", "member_id", "members"),
    "fk_group_members_group_id_groups": ("group_members", "group_id", "groups"),
    "fk_consent_events_church_id_churches": ("consent_events", "church_id", "churches"),
    "fk_consent_events_member_id_members": ("consent_events", "member_id", "members"),
}


def upgrade():
    for table in ("members", "groups"):
        op.create_unique_constraint(f"uq_{table}_church_id_id", table, ["church_id", "id"])
        op.drop_index(f"ix_{table}_church_id", table_name=table)
    for name, (table, _column, _referred) in OLD_KEYS.items():
        op.drop_constraint(name, table, type_="foreignkey")
    for name, (table, columns, referred) in NEW_KEYS.items():
        op.create_foreign_key(name, table, referred, columns, ["church_id", "id"], ondelete="CASCADE")


def downgrade():
    for name, (table, _columns, _referred) in NEW_KEYS.items():
        op.drop_constraint(name, table, type_="foreignkey")
    for name, (table, column, referred) in OLD_KEYS.items():
        op.create_foreign_key(name, table, referred, [column], ["id"], ondelete="CASCADE")
    for table in ("members", "groups"):
        op.create_index(f"ix_{table}_church_id", table, ["church_id"])
        op.drop_constraint(f"uq_{table}_church_id_id", table, type_="unique")
