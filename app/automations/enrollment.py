"""Who enters a workflow: one set-based INSERT … SELECT per trigger, run before each scheduler pass.

Triggers are read from what the other domains already record, so no sending path has to call
in here: a connect card confirmed by YES (connect_submissions), a join keyword texted (the
consent ledger's keyword opt-in), a group joined (group_members), a first text received
(conversation_messages). Only events since the workflow became active count, and only within
HORIZON, which bounds each scan. Nobody opted out enters, and the unique (workflow, member) key
makes a person's enrollment happen at most once, whichever pass or worker sees the event first.

A date-field trigger (birthdays, anniversaries) needs custom member fields; its query joins in
here as one more entry of ENROLL_SQL once members carry such fields.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from app.extensions import db

HORIZON = "2 days"

_INSERT = """
INSERT INTO workflow_enrollments (church_id, workflow_id, member_id, status, position, due_at, enrolled_at)
SELECT w.church_id, w.id, ev.member_id, 'active', 0, :now, GREATEST(:now, max(ev.at))
FROM workflows w
JOIN LATERAL ({events}) ev ON true
JOIN members m ON m.id = ev.member_id AND m.church_id = w.church_id AND m.opted_out_at IS NULL
WHERE w.status = 'active' AND w.trigger = '{trigger}'
GROUP BY w.church_id, w.id, ev.member_id
ON CONFLICT (workflow_id, member_id) DO NOTHING
"""

_SINCE = "GREATEST(w.active_since, now() - interval '" + HORIZON + "')"

ENROLL_SQL: dict[str, str] = {
    "connect_card": f"""
        SELECT s.member_id, s.confirmed_at AS at FROM connect_submissions s
        WHERE s.church_id = w.church_id AND s.status = 'confirmed' AND s.confirmed_at >= {_SINCE}
    """,
    "keyword": f"""
        SELECT ce.member_id, ce.created_at AS at FROM consent_events ce
        JOIN keywords k ON k.id = w.trigger_keyword_id
        WHERE ce.church_id = w.church_id AND ce.action = 'opt_in' AND ce.source = 'keyword'
          AND ce.keyword = left(upper(trim(k.word)), 32) AND ce.created_at >= {_SINCE}
    """,
    "group_joined": f"""
        SELECT gm.member_id, gm.created_at AS at FROM group_members gm
        WHERE gm.group_id = w.trigger_group_id AND gm.church_id = w.church_id AND gm.created_at >= {_SINCE}
    """,
    "first_text": f"""
        SELECT c.member_id, cm.created_at AS at FROM conversation_messages cm
        JOIN conversations c ON c.id = cm.conversation_id
        WHERE cm.church_id = w.church_id AND cm.direction = 'in' AND cm.created_at >= {_SINCE}
          AND NOT EXISTS (
            SELECT 1 FROM conversation_messages p JOIN conversations pc ON pc.id = p.conversation_id
            WHERE pc.member_id = c.member_id AND p.direction = 'in' AND p.created_at < cm.created_at
          )
    """,
}


def enroll_new(now: datetime) -> int:
    """Enroll everyone whose trigger fired since the last pass; returns how many entered."""
    entered = 0
    for trigger, events in ENROLL_SQL.items():
        result = db.session.execute(text(_INSERT.format(events=events, trigger=trigger)), {"now": now})
        entered += result.rowcount or 0
    return entered
