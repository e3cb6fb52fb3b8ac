"""Incremental daily_stats equal `flask rebuild-stats` after a random mix of real activity.

Everything goes through the real writers: broadcasts are created with create_broadcast and sent
by the engine's send_batch through the in-process Telnyx simulator (with STOP-blocked and
rejected numbers among them); delivery reports and replies arrive as Telnyx-signed webhooks at
POST /webhooks/telnyx and are applied by the webhook processor (webhook_processor.drain), which
hands replies to the inbox's inbound handler (STOP and START included).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from app import webhook_processor
from app.broadcasts import tasks
from app.broadcasts.audience import AudienceSpec
from app.broadcasts.services import create_broadcast
from app.models import BroadcastRecipient, Group, GroupMember, User
from app.stats import COUNTERS, rebuild
from tests.factories import MemberFactory
from tests.integration.delivery_engine.conftest import envelope, post_signed

GRACE_NUMBER = "+13125550100"


def snapshot(db, church_id: int) -> dict:
    rows = db.session.execute(
        text(f"SELECT day, {', '.join(COUNTERS)} FROM daily_stats WHERE church_id = :c ORDER BY day"),
        {"c": church_id},
    ).mappings()
    return {row["day"]: {k: row[k] for k in COUNTERS} for row in rows if any(row[k] for k in COUNTERS)}


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def status_event(row: BroadcastRecipient, from_: str, status: str) -> dict:
    """A Telnyx message.sent / message.finalized webhook for one recipient."""
    return envelope(
        "message.sent" if status == "sent" else "message.finalized",
        {
            "id": row.provider_message_id,
            "record_type": "message",
            "direction": "outbound",
            "type": "SMS",
            "from": {"phone_number": from_},
            "to": [{"phone_number": row.to_e164, "status": status}],
            "parts": row.segments or 1,
            "cost": {"amount": "0.0040", "currency": "USD"},
            "errors": [{"code": "40002", "title": "Message failed at carrier"}] if status == "delivery_failed" else [],
            "sent_at": now_iso(),
            "completed_at": None if status == "sent" else now_iso(),
        },
    )


def inbound_event(phone: str, body: str) -> dict:
    return envelope(
        "message.received",
        {
            "id": str(uuid.uuid4()),
            "record_type": "message",
            "direction": "inbound",
            "type": "SMS",
            "from": {"phone_number": phone},
            "to": [{"phone_number": GRACE_NUMBER, "status": "webhook_delivered"}],
            "text": body,
            "media": [],
            "parts": 1,
            "received_at": now_iso(),
            "errors": [],
        },
    )


@pytest.mark.parametrize("seed", [7, 2026])
def test_incremental_stats_equal_rebuilt_after_random_activity(db, client, church, other_church, sim, seed):
    rng = random.Random(seed)
    owner = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    group = Group(church_id=church.id, name=f"Stats {seed}")
    db.session.add(group)
    db.session.flush()
    members = []
    for i in range(24):
        member = MemberFactory(church_id=church.id, phone_e164=f"+1773{seed % 1000:03d}{i:04d}")
        db.session.add(GroupMember(church_id=church.id, group_id=group.id, member_id=member.id))
        members.append(member)
    db.session.flush()
    # Start from figures that match the raw rows (the demo seed wrote history without rows behind it).
    rebuild(church.id)
    other_before = snapshot(db, other_church.id)

    for round_no in range(2):
        reachable = [m for m in members if m.opted_out_at is None]
        for m in rng.sample(reachable, 2):
            sim.add_fault(m.phone_e164, rng.choice(["opted_out", "invalid"]))
        body = "Hi {first_name|friend}! " + ("Choir at 6. " if round_no else "Picnic Saturday 🎉 ") * rng.randint(1, 9)
        broadcast = create_broadcast(
            church,
            owner,
            body=body,
            media_urls=[],
            spec=AudienceSpec(group_ids=[group.id]),
            idempotency_key=uuid.uuid4().hex,
        )
        tasks.send_batch(broadcast.id)
        rows = db.session.scalars(
            select(BroadcastRecipient).where(
                BroadcastRecipient.broadcast_id == broadcast.id, BroadcastRecipient.provider_message_id.is_not(None)
            )
        ).all()
        events = []
        for row in rows:
            fate = rng.choice(["delivered", "delivered", "delivered", "delivery_failed", "sent", "none"])
            if fate == "none":
                continue
            events.append(status_event(row, broadcast.from_number or GRACE_NUMBER, fate))
            if rng.random() < 0.3:
                events.append(status_event(row, broadcast.from_number or GRACE_NUMBER, "sent"))  # late or repeated
        for m in rng.sample(members, 8):
            events.append(
                inbound_event(m.phone_e164, rng.choice(["Thanks!", "See you there", "STOP", "start", "Who is this?"]))
            )
        rng.shuffle(events)
        for event in events + rng.sample(events, min(3, len(events))):  # a few duplicates
            assert post_signed(client, sim, event).status_code == 200
        webhook_processor.drain()
        for m in members:
            db.session.refresh(m)

    incremental = snapshot(db, church.id)
    today = next(reversed(incremental))
    assert incremental[today]["sent"] > 0 and incremental[today]["inbound"] > 0
    assert incremental[today]["delivered"] > 0 and incremental[today]["failed"] > 0
    assert incremental[today]["opt_outs"] > 0

    rebuild(church.id)
    assert snapshot(db, church.id) == incremental
    assert snapshot(db, other_church.id) == other_before
