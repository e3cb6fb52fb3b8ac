"""Raw rows for dashboard tests: broadcasts with recipients at chosen times."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from app.extensions import db
from app.models import Broadcast, BroadcastRecipient, Member


def broadcast(church_id: int, body: str = "Sunday service at 10am", **fields) -> Broadcast:
    row = Broadcast(church_id=church_id, body=body, status=fields.pop("status", "sent"), **fields)
    db.session.add(row)
    db.session.flush()
    return row


def recipient(
    b: Broadcast,
    member: Member,
    *,
    sent_at: datetime | None = None,
    delivered_at: datetime | None = None,
    failed_at: datetime | None = None,
    segments: int = 1,
) -> BroadcastRecipient:
    status = "delivered" if delivered_at else "failed" if failed_at else "sent" if sent_at else "queued"
    row = BroadcastRecipient(
        church_id=b.church_id,
        broadcast_id=b.id,
        member_id=member.id,
        to_e164=member.phone_e164 or "+13125550000",
        status=status,
        sent_at=sent_at,
        delivered_at=delivered_at,
        failed_at=failed_at,
        segments=segments,
    )
    db.session.add(row)
    db.session.flush()
    return row


def group_member_ids(church_id: int, group_name: str) -> set[int]:
    return set(
        db.session.scalars(
            text(
                "SELECT gm.member_id FROM group_members gm JOIN groups g ON g.id = gm.group_id "
                "WHERE g.church_id = :c AND g.name = :n"
            ),
            {"c": church_id, "n": group_name},
        )
    )
