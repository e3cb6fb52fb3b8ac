"""Mail about texts left unread: one mail per person per sweep, listing every thread waiting for them.

`sweep()` runs every minute (app.periodic). One statement finds, for every active user who
wants mail, the threads in an unread spell for at least their chosen minutes that are theirs to
answer: assigned to them, or unassigned with a member of a group they lead (what the inbox shows
a leader). It records each (user, thread, spell) in unread_mails_sent in the same statement and
returns only the rows it recorded, so a thread is mailed once per spell even when two sweeps
overlap. Reading the thread ends the spell; a text after that starts a new one.

So that a busy evening is a mail or two rather than one a minute, a person mailed in the last
MAIL_GAP is not mailed again until it has passed; what became due meanwhile waits for that
next mail, which lists it with the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from app import mail
from app.extensions import db
from app.inbox.inbound import preview_of
from app.inbox.templating import contact_name
from app.models.notifications import EMAIL_AFTER_DEFAULT

log = logging.getLogger(__name__)

MAIL_GAP = timedelta(minutes=30)
TEXT_MAX = 300
TEMPLATE = "unread_texts"

DUE_SQL = text(
    """
    WITH unread AS (
        SELECT c.id, c.church_id, c.member_id, c.assignee_id, c.unread_since
        FROM conversations c
        WHERE c.unread_since IS NOT NULL AND c.unread_count > 0
          AND c.unread_since <= :now - interval '1 minute'
    ),
    theirs AS (
        SELECT c.assignee_id AS user_id, c.id AS conversation_id FROM unread c WHERE c.assignee_id IS NOT NULL
        UNION
        SELECT gl.user_id, c.id
        FROM unread c
        JOIN group_members gm ON gm.member_id = c.member_id AND gm.church_id = c.church_id
        JOIN group_leaders gl ON gl.group_id = gm.group_id AND gl.church_id = c.church_id
        WHERE c.assignee_id IS NULL
    ),
    due AS (
        SELECT t.user_id, c.id AS conversation_id, c.church_id, c.unread_since
        FROM theirs t
        JOIN unread c ON c.id = t.conversation_id
        JOIN users u ON u.id = t.user_id AND u.church_id = c.church_id AND u.active
        LEFT JOIN notification_settings ns ON ns.user_id = u.id
        WHERE CASE WHEN ns.user_id IS NULL THEN :default_minutes ELSE ns.email_after_minutes END IS NOT NULL
          AND c.unread_since <= :now - interval '1 minute'
                * CASE WHEN ns.user_id IS NULL THEN :default_minutes ELSE ns.email_after_minutes END
          AND NOT EXISTS (
                SELECT 1 FROM unread_mails_sent s
                WHERE s.user_id = t.user_id AND s.conversation_id = c.id AND s.unread_since = c.unread_since)
          AND NOT EXISTS (
                SELECT 1 FROM unread_mails_sent s WHERE s.user_id = t.user_id AND s.mailed_at > :now - :gap)
    ),
    recorded AS (
        INSERT INTO unread_mails_sent AS s (user_id, conversation_id, church_id, unread_since, mailed_at)
        SELECT user_id, conversation_id, church_id, unread_since, :now FROM due
        ON CONFLICT (user_id, conversation_id) DO UPDATE
            SET unread_since = EXCLUDED.unread_since, mailed_at = EXCLUDED.mailed_at
            WHERE s.unread_since IS DISTINCT FROM EXCLUDED.unread_since
        RETURNING s.user_id, s.conversation_id
    )
    SELECT r.user_id, u.email, u.name AS user_name, coalesce(ns.include_text, false) AS include_text,
           c.id AS conversation_id, c.unread_count, mem.first_name, mem.last_name, mem.phone_e164,
           latest.body, latest.media
    FROM recorded r
    JOIN users u ON u.id = r.user_id
    LEFT JOIN notification_settings ns ON ns.user_id = u.id
    JOIN conversations c ON c.id = r.conversation_id
    JOIN members mem ON mem.id = c.member_id
    LEFT JOIN LATERAL (
        -- The newest text, read only for those who asked for it (the thread index serves it).
        SELECT m.body, m.media FROM conversation_messages m
        WHERE m.conversation_id = c.id AND m.direction = 'in' AND coalesce(ns.include_text, false)
        ORDER BY m.created_at DESC, m.id DESC LIMIT 1
    ) latest ON true
    ORDER BY r.user_id, c.last_message_at DESC, c.id DESC
    """
)


@dataclass
class Digest:
    """One person's mail: who they are and the threads waiting for them."""

    email: str
    name: str
    include_text: bool
    threads: list[dict[str, Any]] = field(default_factory=list)


def sweep(now: datetime | None = None) -> int:
    """Periodic job: mail everyone whose threads have waited their minutes; return the mails sent."""
    digests = due_digests(now or datetime.now(UTC))
    for digest in digests.values():
        mail.send(
            digest.email,
            TEMPLATE,
            name=digest.name,
            threads=digest.threads,
            include_text=digest.include_text,
            settings_link=mail.absolute_url("notifications.preferences"),
        )
    db.session.commit()  # the records and the mail jobs together: a mail is queued once
    if digests:
        log.info("unread-text mails queued", extra={"mails": len(digests)})
    return len(digests)


def due_digests(now: datetime) -> dict[int, Digest]:
    """Record and return, per user, the threads now due a mail (one statement; the caller commits)."""
    rows = db.session.execute(DUE_SQL, {"now": now, "gap": MAIL_GAP, "default_minutes": EMAIL_AFTER_DEFAULT})
    digests: dict[int, Digest] = {}
    for row in rows:
        digest = digests.get(row.user_id)
        if digest is None:
            digest = digests[row.user_id] = Digest(row.email, row.user_name or "", row.include_text)
        thread = {
            "who": contact_name(row),
            "unread": row.unread_count,
            "link": mail.absolute_url("inbox.conversation", conversation_id=row.conversation_id),
        }
        if row.include_text:
            thread["text"] = preview_of(row.body or "", row.media or [])[:TEXT_MAX]
        digest.threads.append(thread)
    return digests
