"""POST /webhooks/telnyx and the event processor: signatures, once-only, order, reconciliation."""

from __future__ import annotations

import json
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select, text

from app import webhook_processor
from app.broadcasts import tasks
from app.broadcasts.audience import AudienceSpec
from app.broadcasts.services import broadcast_progress
from app.delivery.engine import reap_stale_claims
from app.models import BroadcastRecipient, WebhookEvent
from tests.integration.delivery_engine.conftest import envelope, post_signed, status_payload


def sent_broadcast(db, sim, group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[group.id]))
    tasks.send_batch(broadcast.id)
    rows = db.session.scalars(
        select(BroadcastRecipient)
        .where(BroadcastRecipient.broadcast_id == broadcast.id)
        .order_by(BroadcastRecipient.id)
    ).all()
    return broadcast, rows


def test_bad_stale_oversized_and_invalid_bodies_are_refused(client, sim):
    body = envelope("message.sent", status_payload("m-1", "sent", "+13125550142", "+13125550100"))
    raw = json.dumps(body).encode()
    forged = post_signed(client, sim, body, key=Ed25519PrivateKey.generate())
    assert forged.status_code == 401 and forged.json["error"]["code"] == "invalid_signature"
    unsigned = client.post("/webhooks/telnyx", data=raw, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    stale = post_signed(client, sim, body, timestamp=int(time.time()) - 301)
    assert stale.status_code == 401
    big = post_signed(client, sim, b"{" + b" " * (256 * 1024) + b"}")
    assert big.status_code == 413
    invalid = post_signed(client, sim, b"not json")
    assert invalid.status_code == 400 and invalid.json["error"]["code"] == "invalid_payload"
    assert post_signed(client, sim, body).status_code == 200


def test_duplicate_event_is_stored_and_applied_once(db, client, sim, small_group, send_to):
    broadcast, rows = sent_broadcast(db, sim, small_group, send_to)
    row = rows[0]
    event = envelope(
        "message.finalized",
        status_payload(row.provider_message_id, "delivered", row.to_e164, broadcast.from_number),
    )
    first = post_signed(client, sim, event)
    second = post_signed(client, sim, event)
    assert first.json == {"status": "stored"} and second.json == {"status": "duplicate"}
    assert db.session.scalar(select(func.count()).select_from(WebhookEvent)) == 1
    webhook_processor.drain()
    webhook_processor.drain()
    db.session.refresh(broadcast)
    assert (broadcast.delivered_count, broadcast.sent_count) == (1, 4)


def test_finalized_before_sent_ends_delivered(db, client, sim, small_group, send_to):
    broadcast, rows = sent_broadcast(db, sim, small_group, send_to)
    row = rows[0]
    args = (row.provider_message_id, row.to_e164, broadcast.from_number)
    post_signed(client, sim, envelope("message.finalized", status_payload(args[0], "delivered", *args[1:])))
    webhook_processor.drain()
    post_signed(client, sim, envelope("message.sent", status_payload(args[0], "sent", *args[1:])))
    webhook_processor.drain()
    db.session.refresh(row)
    db.session.refresh(broadcast)
    assert row.status == "delivered" and row.delivered_at is not None
    assert (broadcast.delivered_count, broadcast.sent_count) == (1, 4)


def test_carrier_failure_keeps_code_and_counts(db, client, sim, small_group, send_to):
    broadcast, rows = sent_broadcast(db, sim, small_group, send_to)
    row = rows[1]
    payload = status_payload(row.provider_message_id, "delivery_failed", row.to_e164, broadcast.from_number, "30007")
    post_signed(client, sim, envelope("message.finalized", payload))
    webhook_processor.drain()
    db.session.refresh(row)
    assert (row.status, row.error_code) == ("failed", "30007")
    progress = broadcast_progress(db.session.merge(broadcast))
    assert progress["failed"] == 1 and progress["sent"] == 4


def test_unknown_message_id_is_retried_then_applied(db, client, sim, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    payload = status_payload("not-yet-known", "delivered", "+17736660000", broadcast.from_number)
    post_signed(client, sim, envelope("message.finalized", payload))
    webhook_processor.drain()
    event = db.session.scalar(select(WebhookEvent))
    db.session.refresh(event)
    assert event.processed_at is None and event.attempts == 1 and "unknown" in event.error


def test_reaped_rows_become_unknown_and_webhooks_settle_them(db, client, sim, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    claimed = tasks.claim(broadcast.id, limit=2)  # a worker that claims, sends, and dies
    db.session.execute(
        text("UPDATE broadcast_recipients SET claimed_at = now() - interval '10 minutes' WHERE id = ANY(:ids)"),
        {"ids": [c.id for c in claimed]},
    )
    assert reap_stale_claims(300) == 2
    tasks.send_batch(broadcast.id)
    db.session.refresh(broadcast)
    assert broadcast.unknown_count == 2 and broadcast.sent_count == 3 and broadcast.status == "sent"
    # Never re-sent by the engine itself:
    assert {c.to for c in claimed}.isdisjoint(sim.stats()["by_to"])
    payload = status_payload("lost-id-1", "delivered", claimed[0].to, broadcast.from_number)
    post_signed(client, sim, envelope("message.finalized", payload))
    webhook_processor.drain()
    row = db.session.get(BroadcastRecipient, claimed[0].id)
    db.session.refresh(row)
    db.session.refresh(broadcast)
    assert (row.status, row.provider_message_id) == ("delivered", "lost-id-1")
    assert (broadcast.unknown_count, broadcast.delivered_count) == (1, 1)


def test_unhandled_event_types_are_marked_processed(db, client, sim):
    post_signed(client, sim, envelope("message.something_new", {"id": "x"}))
    webhook_processor.drain()
    event = db.session.scalar(select(WebhookEvent))
    db.session.refresh(event)
    assert event.processed_at is not None and "no handler" in event.error


def test_webhook_is_csrf_exempt(app, client, sim):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        body = envelope("message.sent", status_payload("m-csrf", "sent", "+13125550142", "+13125550100"))
        assert post_signed(client, sim, body).status_code == 200
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
