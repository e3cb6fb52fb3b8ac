"""The set-based statements of a member import, run in one transaction by services.py.

COPY fills import_rows; one upsert writes members and records which rows it applied in
import_applied; then groups, memberships and consent ledger rows follow from those two tables.
"""

CREATE_ROWS = """
DROP TABLE IF EXISTS pg_temp.import_rows, pg_temp.import_applied;
CREATE TEMPORARY TABLE import_rows (
    row_no integer, first_name text, last_name text, phone text, email text, groups text[], branch_id bigint,
    custom text
) ON COMMIT DROP;
CREATE TEMPORARY TABLE import_applied (member_id bigint, phone text, inserted boolean, opted_in boolean) ON COMMIT DROP;
"""
COPY_ROWS = "COPY import_rows (row_no, first_name, last_name, phone, email, groups, branch_id, custom) FROM STDIN"

# Blank cells never erase what the church already has. In "skip" mode only placeholder members
# (created by an inbound text from an unknown number) are filled in; real ones are left alone.
UPSERT_MEMBERS = """
WITH upserted AS (
    INSERT INTO members (church_id, first_name, last_name, phone_e164, email, branch_id, consent_source, consent_at)
    SELECT :church_id, first_name, last_name, phone, email, branch_id, 'import', now()
    FROM import_rows
    ON CONFLICT (church_id, phone_e164) DO UPDATE SET
        first_name = COALESCE(NULLIF(EXCLUDED.first_name, ''), members.first_name),
        last_name = COALESCE(NULLIF(EXCLUDED.last_name, ''), members.last_name),
        email = COALESCE(EXCLUDED.email, members.email),
        branch_id = COALESCE(EXCLUDED.branch_id, members.branch_id),
        consent_source = COALESCE(members.consent_source, 'import'),
        consent_at = COALESCE(members.consent_at, now()),
        is_unknown = false,
        updated_at = now()
    WHERE :update_existing OR members.is_unknown
    RETURNING id, phone_e164, (xmax = 0) AS inserted, opted_out_at IS NULL AS opted_in
)
INSERT INTO import_applied (member_id, phone, inserted, opted_in)
SELECT id, phone_e164, inserted, opted_in FROM upserted
"""
COUNT_APPLIED = "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM import_applied"

# Group names are matched case-insensitively to the church's groups; missing ones are created.
CREATE_GROUPS = """
WITH named AS (
    SELECT DISTINCT ON (lower(g.name)) g.name
    FROM import_rows r JOIN import_applied a ON a.phone = r.phone CROSS JOIN unnest(r.groups) AS g(name)
    WHERE r.groups <> '{}'
    ORDER BY lower(g.name), r.row_no
)
INSERT INTO groups (church_id, name)
SELECT :church_id, named.name FROM named
WHERE NOT EXISTS (SELECT 1 FROM groups WHERE groups.church_id = :church_id AND lower(groups.name) = lower(named.name))
ON CONFLICT DO NOTHING
"""
ADD_MEMBERSHIPS = """
INSERT INTO group_members (church_id, group_id, member_id)
SELECT DISTINCT :church_id, g.id, a.member_id
FROM import_rows r
JOIN import_applied a ON a.phone = r.phone
CROSS JOIN unnest(r.groups) AS n(name)
JOIN (
    SELECT DISTINCT ON (lower(name)) id, lower(name) AS key FROM groups WHERE church_id = :church_id
    ORDER BY lower(name), id
) g ON g.key = lower(n.name)
WHERE r.groups <> '{}'
ON CONFLICT DO NOTHING
"""
# One opt-in per member per import: a rerun finds the rows already there and adds none.
# Members who texted STOP stay opted out; an import never opts them back in.
CONSENT_ROWS = """
INSERT INTO consent_events (church_id, member_id, action, source, detail, user_id)
SELECT :church_id, a.member_id, 'opt_in', 'import', :detail, :user_id
FROM import_applied a
WHERE a.opted_in AND a.inserted
UNION ALL
SELECT :church_id, a.member_id, 'opt_in', 'import', :detail, :user_id
FROM import_applied a
WHERE a.opted_in AND NOT a.inserted AND NOT EXISTS (
    SELECT 1 FROM consent_events c WHERE c.member_id = a.member_id AND c.source = 'import' AND c.detail = :detail
)
"""

# Custom field values, already checked by type in parsing.normalise (JSON {"<field id>": "<value>"}):
# only for the rows applied above, only into the church's own fields; blank cells were left out,
# so they never erase a value the member already has.
APPLY_CUSTOM = """
INSERT INTO member_field_values (church_id, member_id, field_id, value_text, value_number, value_date)
SELECT :church_id, a.member_id, f.id,
       CASE WHEN f.type IN ('text', 'choice') THEN v.value END,
       CASE WHEN f.type = 'number' THEN v.value::numeric END,
       CASE WHEN f.type = 'date' THEN v.value::date END
FROM import_rows r
JOIN import_applied a ON a.phone = r.phone
CROSS JOIN jsonb_each_text(r.custom::jsonb) AS v(field_id, value)
JOIN custom_fields f ON f.id = v.field_id::bigint AND f.church_id = :church_id
WHERE r.custom IS NOT NULL
ON CONFLICT (member_id, field_id) DO UPDATE SET
    value_text = EXCLUDED.value_text, value_number = EXCLUDED.value_number, value_date = EXCLUDED.value_date
"""
