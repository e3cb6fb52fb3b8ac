"""Inbox test helpers: Telnyx-shaped inbound payloads, a simulator to send through, a burst worker."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from app.extensions import rds
from app.models import Conversation, ConversationMessage, Member

GRACE_NUMBER = "+13125550100"
HOPE_NUMBER = "+13125550200"


def telnyx_payload(
    from_: str, to: str = GRACE_NUMBER, text: str | None = "Hello", media: list[dict[str, Any]] | None = None, **extra
) -> dict[str, Any]:
    """The `data.payload` of a Telnyx message.received webhook, nulls and empty strings included."""
    return {
        "record_type": "message",
        "direction": "inbound",
        "id": extra.pop("id", None) or str(uuid.uuid4()),
        "type": "MMS" if media else "SMS",
        "messaging_profile_id": "40017f8e-49bd-4e1b-9b2e-4fdc07fc9c4b",
        "from": {
            "phone_number": from_,
            "carrier": "T-Mobile USA",
            "line_type": "Wireless",
            "status": "webhook_delivered",
        },
        "to": [{"phone_number": to, "carrier": "TELNYX LLC", "line_type": "VoIP", "status": "webhook_delivered"}],
        "cc": [],
        "text": text,
        "subject": None,
        "media": media or [],
        "webhook_url": "",
        "webhook_failover_url": None,
        "encoding": "GSM-7",
        "parts": 1,
        "tags": [],
        "cost": None,
        "received_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "sent_at": None,
        "completed_at": None,
        "valid_until": None,
        "errors": [],
        **extra,
    }


def envelope(payload: dict[str, Any], event_type: str = "message.received") -> dict[str, Any]:
    """A webhook envelope (no `meta`: Telnyx may leave it out)."""
    return {
        "data": {
            "record_type": "event",
            "id": str(uuid.uuid4()),
            "event_type": event_type,
            "occurred_at": datetime.now(UTC).isoformat(),
            "payload": payload,
        }
    }


def conversation_of(db, church, phone: str) -> Conversation | None:
    member = db.session.scalar(select(Member).where(Member.church_id == church.id, Member.phone_e164 == phone))
    if member is None:
        return None
    return db.session.scalar(select(Conversation).where(Conversation.member_id == member.id))


def messages_of(db, conversation: Conversation) -> list[ConversationMessage]:
    return list(
        db.session.scalars(
            select(ConversationMessage)
            .where(ConversationMessage.conversation_id == conversation.id)
            .order_by(ConversationMessage.id)
        )
    )


def high_jobs() -> list[Any]:
    """Jobs waiting on the high queue."""
    return rds.queue("high").get_jobs()


def run_high_queue() -> None:
    """Run the high queue's jobs in this process and app context (no fork: the test's transaction)."""
    SimpleWorker([rds.queue("high")], connection=rds.client).work(burst=True)


@pytest.fixture
def simulator(app):
    """A Telnyx simulator the app sends through (no webhooks: tests drive statuses themselves)."""
    from app.delivery.simserver import Simulator

    with Simulator(webhooks=False) as sim:
        old = app.config["TELNYX_API_BASE"]
        app.config["TELNYX_API_BASE"] = sim.api_base
        try:
            yield sim
        finally:
            app.config["TELNYX_API_BASE"] = old
