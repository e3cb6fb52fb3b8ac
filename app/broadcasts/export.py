"""A broadcast's recipients as CSV: who, which number, what became of the text and why it failed.

A leader gets the rows the broadcast page shows them (visibility.recipient_visible), no more.
Streamed through app.csv_export like the member export.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from flask import Response
from sqlalchemy import Select, func, select

from app import audit
from app.broadcasts.visibility import recipient_visible
from app.csv_export import ExportLock, stream, when
from app.delivery.errors import describe
from app.models import Broadcast, BroadcastRecipient, Member, User
from app.people.phones import is_e164

HEADER = ["member", "phone", "status", "reason", "error_code", "sent_at", "delivered_at", "failed_at"]
# Statuses whose error code says why the person did not get the text.
_EXPLAINED = ("failed", "skipped", "unknown")


def recipients_select(user: User, broadcast: Broadcast) -> Select:
    """The recipients of `broadcast` that `user` may see, in the order they were queued."""
    name = func.concat_ws(" ", Member.first_name, Member.last_name)
    return (
        select(
            name,
            BroadcastRecipient.to_e164,
            BroadcastRecipient.status,
            BroadcastRecipient.error_code,
            BroadcastRecipient.sent_at,
            BroadcastRecipient.delivered_at,
            BroadcastRecipient.failed_at,
        )
        .outerjoin(Member, Member.id == BroadcastRecipient.member_id)
        .where(
            BroadcastRecipient.church_id == broadcast.church_id,
            BroadcastRecipient.broadcast_id == broadcast.id,
            recipient_visible(user),
        )
        .order_by(BroadcastRecipient.id)
    )


def recipient_rows(result: Iterable[tuple]) -> Iterator[list[object]]:
    """CSV cells for each recipient row: the reason in plain words where there is one."""
    for name, phone, status, code, sent_at, delivered_at, failed_at in result:
        reason = describe(code) if status in _EXPLAINED and code else ""
        yield [
            name or "",
            phone if is_e164(phone) else "",
            status,
            reason,
            code or "",
            when(sent_at),
            when(delivered_at),
            when(failed_at),
        ]


def export_response(actor: User, broadcast: Broadcast) -> Response:
    """A streamed CSV of the broadcast's recipients; ExportRunning if this user has one under way."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    name = f"broadcast-{broadcast.id}-recipients-{stamp}.csv"
    lock = ExportLock("broadcast", actor.id, "Your recipient export is still downloading. Try again when it ends.")
    return stream(
        actor,
        lock,
        lambda: audit.record("broadcast.exported", target=broadcast, actor=actor),
        recipients_select(actor, broadcast),
        HEADER,
        recipient_rows,
        name,
    )
