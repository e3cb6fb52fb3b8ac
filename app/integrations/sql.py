"""The set-based statements of a Planning Center sync, run once per page of 100 people.

A page is staged in the temporary table pco_page (one JSON parameter, jsonb_to_recordset);
duplicates are marked there; one `INSERT … ON CONFLICT (church_id, phone_e164)` writes the
members that changed and records them in pco_applied; links, consent ledger rows (new members
only, as a CSV import gives them) and counts follow from those two tables.
"""

STAGE_PAGE = """
DROP TABLE IF EXISTS pg_temp.pco_page, pg_temp.pco_applied;
CREATE TEMPORARY TABLE pco_page (
    ord integer, pco_id text, first_name text, last_name text, phone text, email text,
    pco_updated_at timestamptz, reason text
) ON COMMIT DROP;
CREATE TEMPORARY TABLE pco_applied (member_id bigint, phone text, inserted boolean) ON COMMIT DROP;
"""
FILL_PAGE = """
INSERT INTO pco_page
SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
    ord integer, pco_id text, first_name text, last_name text, phone text, email text,
    pco_updated_at timestamptz, reason text
)
"""
# Two people of this page with one phone: the first keeps it. A member already linked to another
# Planning Center person keeps that person: the newcomer is skipped, never merged into them.
MARK_PAGE_DUPLICATES = """
UPDATE pco_page p SET reason = 'duplicate phone'
FROM (
    SELECT ord, row_number() OVER (PARTITION BY phone ORDER BY ord) AS n FROM pco_page WHERE reason IS NULL
) d
WHERE d.ord = p.ord AND d.n > 1
"""
MARK_LINKED_DUPLICATES = """
UPDATE pco_page p SET reason = 'duplicate phone'
FROM members m JOIN pco_people l ON l.church_id = m.church_id AND l.member_id = m.id
WHERE p.reason IS NULL AND m.church_id = :church_id AND m.phone_e164 = p.phone AND l.pco_person_id <> p.pco_id
"""
# Blank fields never erase what the church has; an unchanged member is not written at all, so a
# second run changes nothing. Consent columns are set only on new members, as an import sets them
# (with the admin's attestation): an existing member's consent and opt-out are never touched.
UPSERT_MEMBERS = """
WITH upserted AS (
    INSERT INTO members (church_id, first_name, last_name, phone_e164, email, consent_source, consent_at)
    SELECT :church_id, first_name, last_name, phone, email,
           CASE WHEN :attested THEN 'import' END, CASE WHEN :attested THEN now() END
    FROM pco_page WHERE reason IS NULL
    ON CONFLICT (church_id, phone_e164) DO UPDATE SET
        first_name = COALESCE(NULLIF(EXCLUDED.first_name, ''), members.first_name),
        last_name = COALESCE(NULLIF(EXCLUDED.last_name, ''), members.last_name),
        email = COALESCE(EXCLUDED.email, members.email),
        is_unknown = false,
        updated_at = now()
    WHERE (members.first_name, members.last_name, members.email, members.is_unknown)
        IS DISTINCT FROM (
            COALESCE(NULLIF(EXCLUDED.first_name, ''), members.first_name),
            COALESCE(NULLIF(EXCLUDED.last_name, ''), members.last_name),
            COALESCE(EXCLUDED.email, members.email),
            false
        )
    RETURNING id, phone_e164, (xmax = 0) AS inserted
)
INSERT INTO pco_applied (member_id, phone, inserted) SELECT id, phone_e164, inserted FROM upserted
"""
LINK_PEOPLE = """
INSERT INTO pco_people (church_id, pco_person_id, member_id, pco_updated_at)
SELECT :church_id, p.pco_id, m.id, p.pco_updated_at
FROM pco_page p JOIN members m ON m.church_id = :church_id AND m.phone_e164 = p.phone
WHERE p.reason IS NULL
ON CONFLICT (church_id, pco_person_id) DO UPDATE SET
    member_id = EXCLUDED.member_id, pco_updated_at = EXCLUDED.pco_updated_at
WHERE (pco_people.member_id, pco_people.pco_updated_at)
    IS DISTINCT FROM (EXCLUDED.member_id, EXCLUDED.pco_updated_at)
"""
CONSENT_ROWS = """
INSERT INTO consent_events (church_id, member_id, action, source, detail, user_id)
SELECT :church_id, a.member_id, 'opt_in', 'import', :detail, :user_id
FROM pco_applied a WHERE a.inserted
"""
PAGE_COUNTS = """
SELECT
    (SELECT count(*) FROM pco_applied WHERE inserted) AS created,
    (SELECT count(*) FROM pco_applied WHERE NOT inserted) AS updated,
    (SELECT count(*) FROM pco_page WHERE reason IS NULL) AS kept,
    (SELECT max(pco_updated_at) FROM pco_page) AS high_water
"""
SKIPPED_ROWS = """
SELECT pco_id, trim(first_name || ' ' || last_name) AS name, reason FROM pco_page
WHERE reason IS NOT NULL ORDER BY ord
"""
RENAMED_CONVERSATIONS = """
SELECT c.id FROM conversations c JOIN pco_applied a ON a.member_id = c.member_id
WHERE c.church_id = :church_id AND NOT a.inserted
"""
DROP_PAGE = "DROP TABLE IF EXISTS pg_temp.pco_page, pg_temp.pco_applied"

# One page of a list's results: its people's members join the group (never anyone else's).
ADD_MEMBERSHIPS = """
INSERT INTO group_members (church_id, group_id, member_id)
SELECT DISTINCT :church_id, g.id, l.member_id
FROM unnest(CAST(:person_ids AS text[])) AS r(pco_id)
JOIN pco_people l ON l.church_id = :church_id AND l.pco_person_id = r.pco_id
JOIN groups g ON g.church_id = :church_id AND g.id = :group_id
ON CONFLICT DO NOTHING
"""
