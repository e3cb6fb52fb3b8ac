"""Failed texts as one list: broadcast recipients and inbox replies, newest first, keyset paged.

A leader sees the failures an admin would, limited by the rules the broadcast pages and the inbox
already apply: recipients of their own broadcasts or their groups' members (broadcasts.visibility),
and replies in conversations assigned to them or with their groups' members.

A retry never rewrites the failed row (its counters and daily figures stay true, and
`flask rebuild-stats` still agrees): a broadcast recipient is sent a one-person broadcast whose
idempotency key names the failure, a reply is sent again as a new reply. A failure counts as
retried once a later text to the same person went out or is on its way (not one scheduled for
later, nor one that failed too), which also hides its retry button.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text

from app import merge
from app.broadcasts.control import send_again
from app.broadcasts.visibility import led_members, sees_everything
from app.delivery.errors import describe, retryable
from app.errors import NotFound, ValidationError
from app.extensions import db
from app.inbox import services as inbox
from app.models import Broadcast, BroadcastRecipient, Conversation, ConversationMessage, Member, User

PAGE_SIZE = 50
KINDS = ("broadcast", "reply")

# One row per failed text, the page's rows first; `later` (was the person texted again since: a text
# that went out or is on its way, not one scheduled for later nor one that failed too) is worked out
# for those rows only.
_FAILURES_SQL = """
WITH page AS (
    SELECT * FROM (
        SELECT 'broadcast' AS kind, r.id, coalesce(r.failed_at, r.updated_at, b.created_at) AS at, r.member_id,
               r.to_e164, r.error_code, r.broadcast_id, NULL::bigint AS conversation_id, b.title, b.body
        FROM broadcast_recipients r JOIN broadcasts b ON b.id = r.broadcast_id
        WHERE r.church_id = :c AND r.status = 'failed' {broadcast_scope}
        UNION ALL
        SELECT 'reply', m.id, m.created_at, c.member_id, NULL, m.error_code, NULL, m.conversation_id, NULL, m.body
        FROM conversation_messages m JOIN conversations c ON c.id = m.conversation_id
        WHERE m.church_id = :c AND m.direction = 'out' AND m.status = 'failed' {reply_scope}
    ) f
    WHERE CAST(:before_at AS timestamptz) IS NULL OR (f.at, f.kind, f.id) < (:before_at, :before_kind, :before_id)
    ORDER BY f.at DESC, f.kind DESC, f.id DESC
    LIMIT :n
)
SELECT page.*, CASE WHEN page.kind = 'broadcast' THEN
    EXISTS (SELECT 1 FROM broadcast_recipients r2 JOIN broadcasts b2 ON b2.id = r2.broadcast_id
            WHERE r2.member_id = page.member_id AND r2.id > page.id AND b2.status <> 'scheduled'
              AND r2.status NOT IN ('failed', 'skipped'))
    OR EXISTS (SELECT 1 FROM conversation_messages m2 JOIN conversations c2 ON c2.id = m2.conversation_id
               WHERE c2.member_id = page.member_id AND m2.direction = 'out' AND m2.status <> 'failed'
                 AND m2.created_at > page.at)
  ELSE
    EXISTS (SELECT 1 FROM conversation_messages m2 WHERE m2.conversation_id = page.conversation_id
              AND m2.direction = 'out' AND m2.status <> 'failed' AND m2.id > page.id)
  END AS later
FROM page
ORDER BY page.at DESC, page.kind DESC, page.id DESC
"""


@dataclass
class Failure:
    """One failed text as the page shows it."""

    kind: str
    id: int
    at: datetime
    member: Member | None
    to_e164: str | None
    error_code: str | None
    broadcast_id: int | None
    conversation_id: int | None
    what: str
    retried: bool

    @property
    def reason(self) -> str:
        return describe(self.error_code)

    @property
    def can_retry(self) -> bool:
        return not self.retried and retryable(self.error_code)


@dataclass
class Page:
    rows: list[Failure] = field(default_factory=list)
    next_cursor: str | None = None


def cursor_of(row: Failure) -> str:
    return f"{row.at.isoformat()}_{row.kind}_{row.id}"


def parse_cursor(raw: str) -> tuple[datetime | None, str | None, int | None]:
    at, _, rest = (raw or "").partition("_")
    kind, _, ident = rest.partition("_")
    try:
        when, number = datetime.fromisoformat(at), int(ident)
    except ValueError:
        return None, None, None
    return (when, kind, number) if kind in KINDS else (None, None, None)


def _scopes(user: User) -> tuple[str, str, dict[str, Any]]:
    """SQL for what a leader may see (admins see the whole church); compiled from visibility.led_members."""
    if sees_everything(user):
        return "", "", {}
    led = led_members(user).compile(compile_kwargs={"literal_binds": True})
    return (
        f"AND (b.created_by_id = :u OR r.member_id IN ({led}))",
        f"AND (c.assignee_id = :u OR c.member_id IN ({led}))",
        {"u": user.id},
    )


def failure_page(user: User, cursor: str = "", limit: int = PAGE_SIZE) -> Page:
    """One page of the failures `user` may see, newest first."""
    broadcast_scope, reply_scope, params = _scopes(user)
    before_at, before_kind, before_id = parse_cursor(cursor)
    rows = db.session.execute(
        text(_FAILURES_SQL.format(broadcast_scope=broadcast_scope, reply_scope=reply_scope)),
        {
            "c": user.church_id,
            "n": limit + 1,
            "before_at": before_at,
            "before_kind": before_kind,
            "before_id": before_id,
            **params,
        },
    ).mappings()
    rows = list(rows)
    more = len(rows) > limit
    rows = rows[:limit]
    members = _members(user.church_id, {r["member_id"] for r in rows if r["member_id"]})
    church_name = user.church.name
    page = [
        Failure(
            kind=r["kind"],
            id=r["id"],
            at=r["at"],
            member=members.get(r["member_id"]),
            to_e164=r["to_e164"],
            error_code=r["error_code"],
            broadcast_id=r["broadcast_id"],
            conversation_id=r["conversation_id"],
            what=merge.label(r["title"], r["body"] or "", church_name),
            retried=bool(r["later"]),
        )
        for r in rows
    ]
    return Page(page, cursor_of(page[-1]) if more and page else None)


def _members(church_id: int, ids: set[int]) -> dict[int, Member]:
    if not ids:
        return {}
    found = db.session.query(Member).filter(Member.church_id == church_id, Member.id.in_(ids)).all()
    return {m.id: m for m in found}


def find(user: User, kind: str, row_id: int) -> Failure:
    """One failure `user` may see (NotFound otherwise), read through the same query as the page."""
    broadcast_scope, reply_scope, params = _scopes(user)
    table = "r" if kind == "broadcast" else "m"
    if kind == "broadcast":
        broadcast_scope += f" AND {table}.id = :id"
    else:
        reply_scope += f" AND {table}.id = :id"
    # The other half of the union is emptied rather than filtered by id.
    other = "AND false"
    sql = _FAILURES_SQL.format(
        broadcast_scope=broadcast_scope if kind == "broadcast" else other,
        reply_scope=reply_scope if kind == "reply" else other,
    )
    row = (
        db.session.execute(
            text(sql),
            {
                "c": user.church_id,
                "n": 1,
                "before_at": None,
                "before_kind": None,
                "before_id": None,
                "id": row_id,
                **params,
            },
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("That failed text was not found.")
    member = db.session.get(Member, row["member_id"]) if row["member_id"] else None
    return Failure(
        row["kind"],
        row["id"],
        row["at"],
        member,
        row["to_e164"],
        row["error_code"],
        row["broadcast_id"],
        row["conversation_id"],
        row["body"] or "",
        bool(row["later"]),
    )


def retry(user: User, kind: str, row_id: int) -> Broadcast | ConversationMessage:
    """Send a failed text again (transient reasons only); ValidationError says why not."""
    failure = find(user, kind, row_id)
    if failure.retried:
        raise ValidationError("This person has been texted again since; nothing was re-sent.")
    if not retryable(failure.error_code):
        raise ValidationError(f"Sending again would fail the same way: {failure.reason}")
    if kind == "reply":
        conversation = db.session.get(Conversation, failure.conversation_id)
        original = db.session.get(ConversationMessage, failure.id)
        return inbox.reply(conversation, user, original.body)
    recipient = db.session.get(BroadcastRecipient, failure.id)
    original = db.session.get(Broadcast, recipient.broadcast_id)
    if not user.is_admin and not (user.church.leaders_can_send and original.created_by_id == user.id):
        raise ValidationError("Only an admin can send this broadcast again.")
    key = f"retry-recipient-{recipient.id}"
    return send_again(original, user, [recipient.member_id], prefix="Retry", idempotency_key=key)
