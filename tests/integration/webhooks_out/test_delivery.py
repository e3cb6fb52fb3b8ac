"""Outbound webhooks end to end: each event from the code that makes it, signed, retried, given up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from app.delivery.engine import finish_broadcasts
from app.inbox.inbound import handle_received
from app.models import Broadcast, WebhookDelivery, WebhookEndpoint
from app.outbound_webhooks import delivery as sending
from tests.integration.inbox.conftest import telnyx_payload
from tests.integration.webhooks_out.conftest import run_worker


def _deliveries(db, endpoint_id, event_type=None) -> list[WebhookDelivery]:
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id).order_by(WebhookDelivery.id)
    if event_type:
        stmt = stmt.where(WebhookDelivery.event_type == event_type)
    db.session.expire_all()
    return list(db.session.scalars(stmt))


def test_a_new_member_from_the_api_reaches_the_receiver_signed(db, client, hook, receiver, make_key):
    response = client.post(
        "/api/v1/members",
        json={"first_name": "Lydia", "last_name": "Thyatira", "phone": "(312) 555-0161"},
        headers={"Authorization": f"Bearer {make_key()}"},
    )
    assert response.status_code == 201
    run_worker()
    [body] = receiver.verified(hook.secret)
    assert list(body) == ["type", "timestamp", "data"]
    assert body["type"] == "member.created"
    assert body["data"] == {
        "id": response.get_json()["data"]["id"],
        "first_name": "Lydia",
        "last_name": "Thyatira",
        "phone": "+13125550161",
        "email": None,
        "opted_out": False,
        "source": "api",
    }
    headers, _ = receiver.requests[0]
    assert headers["webhook-id"].startswith("msg_") and headers["webhook-signature"].startswith("v1,")
    [row] = _deliveries(db, hook.row.id)
    assert (row.status, row.attempts, row.response_status, row.event_id) == (
        "delivered",
        1,
        200,
        headers["webhook-id"],
    )


def test_a_failed_delivery_is_retried_within_a_minute_with_the_same_id(db, client, hook, receiver, make_key):
    receiver.answers.extend([500])
    client.post("/api/v1/members", json={"phone": "(312) 555-0162"}, headers={"Authorization": f"Bearer {make_key()}"})
    run_worker()
    [row] = _deliveries(db, hook.row.id)
    assert (row.status, row.attempts, row.response_status) == ("pending", 1, 500)
    assert len(row.response_excerpt) == 1024  # the receiver said 5000 bytes; 1 KB is kept
    assert row.next_attempt_at - row.last_attempt_at <= timedelta(seconds=60)
    # Time passes (the retry's RQ job waits in the scheduler); the sweep finds the row due.
    db.session.execute(
        text("UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 minute' WHERE id = :id"),
        {"id": row.id},
    )
    db.session.commit()
    rds_lost_everything()
    assert sending.sweep() == 1
    run_worker()
    [row] = _deliveries(db, hook.row.id)
    assert (row.status, row.attempts, row.response_status) == ("delivered", 2, 200)
    first, second = (headers["webhook-id"] for headers, _ in receiver.requests)
    assert first == second == row.event_id
    assert len(receiver.verified(hook.secret)) == 2


def rds_lost_everything() -> None:
    from app.extensions import rds

    rds.client.flushdb()


def test_after_24_hours_the_endpoint_is_failing_and_the_owner_is_told(db, client, login_as, hook, receiver, mailbox):
    from tests.conftest import deliver_mail

    receiver.answers.extend([503])
    hook_id = hook.row.id
    made = sending.deliver(_test_event(db, hook))
    assert made == "retrying"
    db.session.execute(
        text(
            "UPDATE webhook_deliveries SET created_at = now() - interval '25 hours', "
            "next_attempt_at = now() - interval '1 second' WHERE endpoint_id = :id"
        ),
        {"id": hook_id},
    )
    db.session.commit()
    receiver.answers.extend([503])
    [row] = _deliveries(db, hook_id)
    assert sending.deliver(row.id) == "failed"
    endpoint = db.session.get(WebhookEndpoint, hook_id)
    assert endpoint.state == "failing" and endpoint.failing_since is not None
    deliver_mail()
    [mail] = mailbox.messages(to="admin@example.org")
    assert "failing" in mail["subject"]
    login_as("owner")
    page = client.get("/settings/webhooks").get_data(as_text=True)
    assert "has not accepted events for 24 hours" in page
    # It answers again: a resend is delivered and the endpoint is back on.
    client.post(f"/settings/webhooks/{hook_id}/deliveries/{row.id}/resend")
    run_worker()
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, hook_id).state == "enabled"
    ids = {headers["webhook-id"] for headers, _ in receiver.requests}
    assert ids == {row.event_id}


def _test_event(db, hook) -> int:
    from app.auth.services import find_user_by_email
    from app.outbound_webhooks import endpoints

    made = endpoints.send_test(find_user_by_email("admin@example.org"), hook.row)
    db.session.commit()
    return made.id


def test_an_inbound_text_from_a_stranger_and_their_stop(db, hook, receiver):
    handle_received(telnyx_payload("+17735550171", text="Is choir on tonight?"), None)
    db.session.commit()
    handle_received(telnyx_payload("+17735550171", text="STOP"), None)
    db.session.commit()
    run_worker()
    bodies = receiver.verified(hook.secret)
    kinds = [b["type"] for b in bodies]
    assert sorted(kinds) == sorted(["member.created", "message.received", "message.received", "member.opted_out"])
    created = next(b for b in bodies if b["type"] == "member.created")
    assert created["data"]["phone"] == "+17735550171" and created["data"]["source"] == "inbound"
    first = next(b for b in bodies if b["type"] == "message.received" and b["data"]["body"] == "Is choir on tonight?")
    assert first["data"]["from"] == "+17735550171" and first["data"]["to"] == "+13125550100"
    stop = next(b for b in bodies if b["type"] == "member.opted_out")
    assert stop["data"]["source"] == "keyword" and stop["data"]["keyword"] == "STOP"
    assert stop["data"]["member"]["opted_out"] is True


def test_a_provider_block_is_an_opt_out(db, church, hook, receiver):
    from app.delivery.engine import record_provider_opt_outs
    from app.models import Member

    member = db.session.scalar(
        select(Member).where(Member.church_id == church.id, Member.opted_out_at.is_(None)).limit(1)
    )
    assert record_provider_opt_outs([member.id], "+13125550100") == 1
    db.session.commit()
    run_worker()
    [body] = receiver.verified(hook.secret)
    assert body["type"] == "member.opted_out"
    assert body["data"]["member"]["id"] == member.id and body["data"]["source"] == "provider_block"


def test_a_csv_import_sends_one_event_per_new_member(db, hook, receiver, run_import):
    from tests.integration.imports.conftest import csv_bytes

    imp = run_import(csv_bytes("Ann,Lee,(312) 555-0191,,,", "Bo,Ray,(312) 555-0192,,,"))
    assert imp.imported == 2
    run_worker()
    bodies = [b for b in receiver.verified(hook.secret) if b["type"] == "member.created"]
    assert sorted(b["data"]["phone"] for b in bodies) == ["+13125550191", "+13125550192"]
    assert {b["data"]["source"] for b in bodies} == {"import"}
    assert len({h["webhook-id"] for h, _ in receiver.requests}) == 2


def test_a_finished_broadcast_is_reported(db, church, hook, receiver):
    broadcast = Broadcast(church_id=church.id, body="Service at 10", status="sending", recipient_count=0)
    db.session.add(broadcast)
    db.session.flush()
    assert finish_broadcasts([broadcast.id]) == [broadcast.id]
    db.session.commit()
    run_worker()
    [body] = receiver.verified(hook.secret)
    assert body["type"] == "broadcast.completed"
    assert body["data"]["id"] == broadcast.id and body["data"]["body"] == "Service at 10"


def test_a_rolled_back_change_sends_nothing(db, church, hook, receiver):
    broadcast = Broadcast(church_id=church.id, body="Never", status="sending")
    db.session.add(broadcast)
    db.session.flush()
    with db.session.begin_nested():
        finish_broadcasts([broadcast.id])
        assert _deliveries(db, hook.row.id)
        db.session.rollback()
    run_worker()
    assert receiver.requests == []


def test_events_an_endpoint_did_not_ask_for_and_disabled_endpoints_get_nothing(db, owner, receiver, church):
    from app.outbound_webhooks import endpoints

    only_broadcasts = endpoints.create(owner, receiver.url, ["broadcast.completed"])
    off = endpoints.create(owner, receiver.url, ["message.received"])
    endpoints.set_disabled(owner, off.row, True)
    db.session.commit()
    handle_received(telnyx_payload("+17735550172", text="hi"), None)
    db.session.commit()
    assert _deliveries(db, only_broadcasts.row.id) == [] and _deliveries(db, off.row.id) == []


def test_a_url_resolving_to_a_private_address_is_refused_at_send_time(db, owner, hook, receiver, app):
    # Saved while allowed; the send-time check refuses it once it points inward.
    db.session.execute(
        text("UPDATE webhook_endpoints SET url = 'https://10.1.2.3/hook' WHERE id = :id"), {"id": hook.row.id}
    )
    db.session.commit()
    delivery_id = _test_event(db, hook)
    assert sending.deliver(delivery_id) == "retrying"
    [row] = _deliveries(db, hook.row.id)
    assert row.response_status is None and "private" in row.error
    assert receiver.requests == []


def test_the_sweep_sends_what_redis_lost(db, hook, receiver):
    delivery_id = _test_event(db, hook)
    rds_lost_everything()
    db.session.execute(
        text("UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 minute' WHERE id = :id"),
        {"id": delivery_id},
    )
    db.session.commit()
    assert sending.sweep() == 1
    assert sending.sweep() == 0  # already queued: not twice
    run_worker()
    [body] = receiver.verified(hook.secret)
    assert body["type"] == "webhook.test"
    assert datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00")) <= datetime.now(UTC)
