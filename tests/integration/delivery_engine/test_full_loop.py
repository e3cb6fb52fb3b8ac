"""The whole loop with the simulator's own signed webhooks: send, receive sent/finalized, settle."""

from __future__ import annotations

from sqlalchemy import select

from app import webhook_processor
from app.broadcasts import tasks
from app.broadcasts.audience import AudienceSpec
from app.broadcasts.services import broadcast_progress
from app.models import BroadcastRecipient


def test_simulator_webhooks_settle_every_recipient(db, client, sim, small_group, send_to, webhook_sink):
    # The simulator posts to a recording sink; the recorded bytes and headers are then
    # replayed into the app exactly as they arrived (the test DB transaction is not shareable
    # with a live server thread).
    sim.webhooks, sim.webhook_url = True, webhook_sink.url
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    rows = db.session.scalars(select(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast.id)).all()
    sim.add_fault(rows[0].to_e164, "delivery_failed", carrier_code="30007")
    tasks.send_batch(broadcast.id)
    webhook_sink.wait_for(10)
    received = list(webhook_sink.received)
    # Finalized events first: the order must not matter.
    received.sort(key=lambda r: r.json["data"]["event_type"] != "message.finalized")
    for r in received + received[:3]:  # and Telnyx may deliver some twice
        response = client.post("/webhooks/telnyx", data=r.body, headers=r.headers)
        assert response.status_code == 200
    webhook_processor.drain()
    db.session.refresh(broadcast)
    progress = broadcast_progress(broadcast)
    assert (progress["delivered"], progress["failed"], progress["sent"]) == (4, 1, 0)
    assert progress["done"] and progress["percent"] == 100
    failed = db.session.get(BroadcastRecipient, rows[0].id)
    db.session.refresh(failed)
    assert (failed.status, failed.error_code) == ("failed", "30007")
