"""Every tenant table carries church_id in its primary or a unique key, or says here why not.

A table distributed on church_id (Citus, or any sharding by church) can only enforce a primary or
unique key that includes church_id; a table whose keys do not is a decision to make before the
split: give it (church_id, ...) keys, or keep it on the coordinator as a reference or routing
table. New tenant tables must carry the key; this list is the exact set that does not, with the
reason, so it shrinks as tables are re-keyed and never grows unnoticed.
"""

from __future__ import annotations

from sqlalchemy import text

GLOBAL_LOOKUP = "found by a globally unique value before the church is known"
CHILD_KEYED_BY_ID = "keyed by its own id (or its parents' ids) alone; re-key as (church_id, id) before distributing"

WITHOUT_CHURCH_KEY = {
    # Routing and identity: looked up across churches by a value that must stay unique everywhere.
    # On Citus these stay on the coordinator (reference or local tables) or move behind a small
    # routing table from the global value to (church_id, id).
    "users": f"{GLOBAL_LOOKUP}: sign-in by email",
    "account_tokens": f"{GLOBAL_LOOKUP}: a mailed token's hash (church_id is empty for sign-up tokens)",
    "api_keys": f"{GLOBAL_LOOKUP}: the bearer key's hash",
    "passkeys": f"{GLOBAL_LOOKUP}: the WebAuthn credential id",
    "phone_numbers": f"{GLOBAL_LOOKUP}: an inbound text's number",
    "push_subscriptions": f"{GLOBAL_LOOKUP}: the push service's endpoint",
    "webhook_events": f"{GLOBAL_LOOKUP}: the provider's event id (church_id is set once processed)",
    "broadcast_recipients": f"{GLOBAL_LOOKUP}: a status webhook's provider message id",
    "conversation_messages": f"{GLOBAL_LOOKUP}: a status webhook's provider message id",
    "link_codes": f"{GLOBAL_LOOKUP}: a tracked link's /l/<code>",
    # Platform-wide rows that may belong to no church.
    "dead_letters": "operators' queue across churches; church_id is empty for platform jobs",
    "audit_log": "church_id is empty for platform actions; re-key as (church_id, id) with a platform church",
    # Tenant rows keyed without church_id.
    "connect_submissions": CHILD_KEYED_BY_ID,
    "consent_events": CHILD_KEYED_BY_ID,
    "conversation_notes": CHILD_KEYED_BY_ID,
    "conversations": CHILD_KEYED_BY_ID,
    "group_leaders": CHILD_KEYED_BY_ID,
    "group_members": CHILD_KEYED_BY_ID,
    "member_imports": CHILD_KEYED_BY_ID,
    "notification_settings": CHILD_KEYED_BY_ID,
    "recovery_codes": CHILD_KEYED_BY_ID,
    "templates": CHILD_KEYED_BY_ID,
    "totp_secrets": CHILD_KEYED_BY_ID,
    "unread_mails_sent": CHILD_KEYED_BY_ID,
    "user_sessions": CHILD_KEYED_BY_ID,
}

TENANT_TABLES = text(
    """
    SELECT c.relname,
           EXISTS (SELECT 1 FROM pg_index i
                   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                   WHERE i.indrelid = c.oid AND (i.indisprimary OR i.indisunique)
                     AND i.indpred IS NULL AND a.attname = 'church_id') AS keyed
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition  -- a partition keys as its table
      AND EXISTS (SELECT 1 FROM pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attname = 'church_id' AND NOT a.attisdropped)
    ORDER BY 1
    """
)


def test_every_tenant_table_carries_church_id_in_a_key_or_says_why_not(db):
    rows = db.session.execute(TENANT_TABLES).all()
    assert len(rows) > 20  # the query found the schema's tenant tables
    unkeyed = {name for name, keyed in rows if not keyed}
    assert unkeyed - WITHOUT_CHURCH_KEY.keys() == set(), "new tenant tables must key on church_id"
    assert WITHOUT_CHURCH_KEY.keys() - unkeyed == set(), "these tables carry the key now: drop them from the list"


def test_every_table_is_a_tenant_table_or_a_known_global_one(db):
    names = set(
        db.session.scalars(
            text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
            )
        )
    )
    tenant = {name for name, _ in db.session.execute(TENANT_TABLES).all()}
    # churches is the distribution key's own table; alembic_version is the schema's.
    assert names - tenant == {"churches", "alembic_version"}
