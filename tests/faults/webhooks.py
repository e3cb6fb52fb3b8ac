"""Signed Telnyx `message.received` events for the fault suite, and what processing them left."""

from __future__ import annotations

import json
import uuid

from tests.faults.stack import Stack

CHURCH_NUMBER = "+13125550100"  # Grace Community Church, from seed-demo


def inbound_events(n: int, prefix: str, first_number: int) -> list[dict]:
    """`n` texts from `n` new people, each a distinct event and provider message id."""
    tag = uuid.uuid4().hex[:8]
    return [
        {
            "data": {
                "record_type": "event",
                "id": f"{prefix}-{tag}-{i}",
                "event_type": "message.received",
                "occurred_at": "2026-12-06T15:00:00.000+00:00",
                "payload": {
                    "id": f"{prefix}-msg-{tag}-{i}",
                    "record_type": "message",
                    "direction": "inbound",
                    "type": "SMS",
                    "from": {"phone_number": f"+1555{first_number + i:07d}"},
                    "to": [{"phone_number": CHURCH_NUMBER, "status": "webhook_delivered"}],
                    "text": f"Praying for the drill, note {i}",
                    "media": [],
                    "received_at": "2026-12-06T15:00:00.000+00:00",
                },
            },
            "meta": {"attempt": 1, "delivered_to": "fault-suite"},
        }
        for i in range(n)
    ]


def post(client, stack: Stack, event: dict):
    raw = json.dumps(event).encode()
    return client.post("/webhooks/telnyx", content=raw, headers={**stack.sign(raw), "Content-Type": "application/json"})


def effects(stack: Stack, events: list[dict]) -> dict[str, tuple]:
    """Per event id: (stored, processed, error, messages in the inbox, the thread's unread count)."""
    ids = [e["data"]["id"] for e in events]
    message_ids = {e["data"]["payload"]["id"]: e["data"]["id"] for e in events}
    stored = {
        r[0]: r[1:]
        for r in stack.sql(
            "SELECT event_id, processed_at IS NOT NULL, error FROM webhook_events WHERE event_id = ANY(%s)", (ids,)
        )
    }
    messages = {
        message_ids[r[0]]: r[1:]
        for r in stack.sql(
            "SELECT m.provider_message_id, count(*), max(c.unread_count) FROM conversation_messages m "
            "JOIN conversations c ON c.id = m.conversation_id WHERE m.provider_message_id = ANY(%s) "
            "GROUP BY m.provider_message_id",
            (list(message_ids),),
        )
    }
    out = {}
    for event_id in ids:
        processed, error = stored.get(event_id, (False, None))
        count, unread = messages.get(event_id, (0, 0))
        out[event_id] = (event_id in stored, processed, error, count, unread)
    return out
