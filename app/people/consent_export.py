"""The church's consent ledger as CSV: what a carrier audit asks for.

Every opt-in and opt-out with when, whose number, how (keyword, form, import, staff, carrier
block) and who recorded it. Numbers are whole E.164: an auditor matches them against the carrier's
records, so this export is for owners and admins only, and each download is in the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from flask import Response
from sqlalchemy import Select, func, select

from app import audit
from app.csv_export import ExportLock, stream, when
from app.models import ConsentEvent, Member, User
from app.people.phones import is_e164
from app.people.services import require_admin

HEADER = ["at", "member", "phone", "event", "source", "keyword_or_text", "church_number", "recorded_by"]
EVENTS = {"opt_in": "opt-in", "opt_out": "opt-out"}


def ledger_select(church_id: int) -> Select:
    """Every consent event of the church, oldest first."""
    return (
        select(
            ConsentEvent.created_at,
            func.concat_ws(" ", Member.first_name, Member.last_name),
            Member.phone_e164,
            ConsentEvent.action,
            ConsentEvent.source,
            func.coalesce(ConsentEvent.keyword, ConsentEvent.detail),
            ConsentEvent.phone_number,
            func.coalesce(User.name, User.email),
        )
        .outerjoin(Member, (Member.id == ConsentEvent.member_id) & (Member.church_id == church_id))
        .outerjoin(User, User.id == ConsentEvent.user_id)
        .where(ConsentEvent.church_id == church_id)
        .order_by(ConsentEvent.created_at, ConsentEvent.id)
    )


def ledger_rows(result: Iterable[tuple]) -> Iterator[list[object]]:
    """CSV cells per event; numbers only when they are the valid E.164 they should be."""
    for at, member, phone, action, source, said, church_number, by in result:
        yield [
            when(at),
            member or "",
            phone if is_e164(phone) else "",
            EVENTS.get(action, action),
            source,
            said or "",
            church_number if is_e164(church_number) else "",
            by or "",
        ]


def export_response(actor: User) -> Response:
    """A streamed CSV of the whole ledger (owners and admins)."""
    require_admin(actor)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    lock = ExportLock("consent", actor.id, "Your consent ledger export is still downloading. Try again when it ends.")
    return stream(
        actor,
        lock,
        lambda: audit.record("consent.exported", actor=actor),
        ledger_select(actor.church_id),
        HEADER,
        ledger_rows,
        f"consent-{actor.church.slug}-{stamp}.csv",
    )
