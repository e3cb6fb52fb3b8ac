"""The church's audit log as its owners and admins read it: filtered, newest first, keyset-paged."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, tuple_

from app.extensions import db
from app.models import AuditLog, User
from app.security.inputs import parse_id
from app.tenancy import scoped

PAGE_SIZE = 50
EXPORT_BATCH = 1000
MAX_CURSOR = 64

# The actions the filter offers, in the order people look for them (app/audit.py lists them all).
ACTIONS = {
    "auth.sign_in": "Signed in",
    "auth.sign_in_failed": "Failed sign-in",
    "auth.signed_out": "Signed out",
    "auth.session_ended": "Ended a session",
    "auth.sessions_ended": "Signed out other sessions",
    "auth.password_reset": "Reset a forgotten password",
    "auth.password_changed": "Changed their password",
    "auth.two_factor_changed": "Changed their two-factor",
    "church.signed_up": "Signed the church up",
    "number.bought": "Bought a sending number",
    "staff.invited": "Invited someone",
    "staff.role_changed": "Changed a role",
    "staff.deactivated": "Deactivated someone",
    "staff.reactivated": "Reactivated someone",
    "staff.ownership_transferred": "Handed on ownership",
    "staff.invitation_revoked": "Revoked an invitation",
    "staff.joined": "Accepted an invitation",
    "broadcast.sent": "Sent or scheduled a broadcast",
    "broadcast.cancelled": "Cancelled a broadcast",
    "broadcast.paused": "Paused a broadcast",
    "broadcast.resumed": "Resumed a broadcast",
    "broadcast.edited": "Edited a scheduled broadcast",
    "broadcast.exported": "Exported a broadcast's recipients",
    "conversation.exported": "Exported a conversation",
    "consent.exported": "Exported the consent ledger",
    "member.created": "Added a member",
    "member.updated": "Edited a member",
    "member.deleted": "Deleted a member",
    "member.noted": "Added a note to a member",
    "members.deleted": "Deleted members",
    "integration.connected": "Connected Planning Center",
    "integration.lists_mapped": "Chose Planning Center lists for groups",
    "integration.sync_started": "Started a Planning Center sync",
    "integration.disconnected": "Disconnected Planning Center",
    "api_key.created": "Made an API key",
    "api_key.revoked": "Revoked an API key",
    "api_key.rotated": "Rotated an API key",
    "webhook.created": "Added a webhook endpoint",
    "webhook.updated": "Changed a webhook endpoint",
    "webhook.disabled": "Turned off a webhook endpoint",
    "webhook.enabled": "Turned on a webhook endpoint",
    "webhook.deleted": "Deleted a webhook endpoint",
    "webhook.tested": "Sent a test webhook",
    "webhook.resent": "Resent a webhook",
    "members.exported": "Exported members",
    "custom_field.created": "Added a member field",
    "custom_field.changed": "Changed a member field",
    "custom_field.deleted": "Deleted a member field",
    "group.created": "Created a group",
    "group.updated": "Edited a group",
    "group.deleted": "Deleted a group",
    "group.members_added": "Added members to a group",
    "group.members_removed": "Removed members from a group",
    "group.leader_assigned": "Made someone a group leader",
    "group.leader_removed": "Removed a group leader",
    "settings.changed": "Changed settings",
    "billing.changed": "Billing changed",
    "audit.exported": "Exported the audit log",
    "automation.created": "Created an automation",
    "automation.updated": "Edited an automation",
    "automation.paused": "Paused an automation",
    "automation.resumed": "Resumed an automation",
}


@dataclass(frozen=True)
class AuditFilters:
    """?person=<user id>&action=<action>: read leniently (anything unknown is ignored)."""

    person: int | None = None
    action: str = ""

    @classmethod
    def from_args(cls, args: Any) -> AuditFilters:
        action = args.get("action", "")
        return cls(person=parse_id(args.get("person")), action=action if action in ACTIONS else "")

    def as_args(self) -> dict[str, Any]:
        return {k: v for k, v in (("person", self.person), ("action", self.action)) if v}


@dataclass(frozen=True)
class AuditRow:
    """One event as the page and the file show it (plain values: no ORM object per row)."""

    id: int
    created_at: datetime
    action: str
    target_type: str | None
    target_id: int | None
    detail: dict[str, Any]
    ip: str | None
    user_id: int | None
    who: str | None  # the acting person's name or email; None when no person acted (Stripe, the system)

    @property
    def label(self) -> str:
        return ACTIONS.get(self.action, self.action)

    @property
    def summary(self) -> str:
        return describe(self.detail)

    @property
    def shown_target(self) -> str:
        """ "member #12"; nothing when there is no target or it is the person who acted (their sign-in)."""
        if not self.target_type or (self.target_type == "user" and self.target_id == self.user_id):
            return ""
        return self.target_type.replace("_", " ") + (f" #{self.target_id}" if self.target_id is not None else "")


def _cursor(row: AuditRow) -> str:
    return f"{row.created_at.isoformat()}~{row.id}"


def parse_cursor(raw: str | None) -> tuple[datetime, int] | None:
    """The (created_at, id) a "next page" link names, or None when it names nothing valid."""
    text = (raw or "")[:MAX_CURSOR]
    stamp, _, raw_id = text.partition("~")
    event_id = parse_id(raw_id)
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if event_id is None or when.tzinfo is None:
        return None
    return when, event_id


def _select(church_id: int, filters: AuditFilters) -> Select:
    stmt = (
        select(
            AuditLog.id,
            AuditLog.created_at,
            AuditLog.action,
            AuditLog.target_type,
            AuditLog.target_id,
            AuditLog.detail,
            AuditLog.ip,
            AuditLog.user_id,
            User.name,
            User.email,
        )
        .outerjoin(User, (User.id == AuditLog.user_id) & (User.church_id == AuditLog.church_id))
        .where(AuditLog.church_id == church_id)
        .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
    )
    if filters.person:
        stmt = stmt.where(AuditLog.user_id == filters.person)
    if filters.action:
        stmt = stmt.where(AuditLog.action == filters.action)
    return stmt


def _rows(stmt: Select) -> list[AuditRow]:
    return [AuditRow(*row[:8], who=row.name or row.email) for row in db.session.execute(stmt)]


def audit_page(
    church_id: int, filters: AuditFilters, after: tuple[datetime, int] | None
) -> tuple[list[AuditRow], str | None]:
    """One page of events older than `after` (newest first) and the cursor of the next page, if any."""
    stmt = _select(church_id, filters).limit(PAGE_SIZE + 1)
    if after is not None:
        stmt = stmt.where(tuple_(AuditLog.created_at, AuditLog.id) < tuple_(*after))
    rows = _rows(stmt)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (_cursor(rows[-1]) if more else None)


def staff(church_id: int) -> list[User]:
    """The church's people, for the filter."""
    return list(db.session.scalars(scoped(User, church_id).order_by(User.name, User.email)))


HEADER = ["time_utc", "person", "action", "target_type", "target_id", "detail", "ip"]


def export_rows(church_id: int, filters: AuditFilters) -> Iterator[list[object]]:
    """Every matching event, newest first, read a batch at a time by the same keyset as the page."""
    yield HEADER
    after = None
    while True:
        stmt = _select(church_id, filters).limit(EXPORT_BATCH)
        if after is not None:
            stmt = stmt.where(tuple_(AuditLog.created_at, AuditLog.id) < tuple_(*after))
        rows = _rows(stmt)
        for row in rows:
            target_id = row.target_id if row.target_id is not None else ""
            yield [
                row.created_at.isoformat(),
                row.who or "",
                row.action,
                row.target_type or "",
                target_id,
                row.summary,
                row.ip or "",
            ]
        if len(rows) < EXPORT_BATCH:
            return
        after = (rows[-1].created_at, rows[-1].id)


def describe(detail: dict[str, Any] | None) -> str:
    """The detail as one readable line: "key: value; key: old → new"."""
    parts = []
    for key, value in (detail or {}).items():
        if isinstance(value, list) and len(value) == 2 and key not in ("ids",):
            shown = f"{_text(value[0])} → {_text(value[1])}"
        elif isinstance(value, list):
            shown = ", ".join(_text(v) for v in value)
        else:
            shown = _text(value)
        parts.append(f"{key.replace('_', ' ')}: {shown}")
    return "; ".join(parts)


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items()) or "none"
    return str(value)
