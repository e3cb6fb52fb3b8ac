"""message.received through POST /webhooks/telnyx (signed) and the event processor."""

from __future__ import annotations

import json
import time

from app import webhook_processor
from app.security.signatures import sign_telnyx
from tests.integration.inbox.conftest import conversation_of, envelope, messages_of, telnyx_payload


def _post(client, key, body: dict) -> int:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **sign_telnyx(raw, key, int(time.time()))}
    return client.post("/webhooks/telnyx", data=raw, headers=headers).status_code


def test_signed_inbound_webhook_lands_in_the_inbox(client, db, church, signing_key):
    body = envelope(telnyx_payload("+17735550190", text="Via the webhook"))
    assert _post(client, signing_key, body) == 200
    webhook_processor.process_batch()
    conv = conversation_of(db, church, "+17735550190")
    assert [m.body for m in messages_of(db, conv)] == ["Via the webhook"]


def test_same_message_delivered_twice_makes_one_message(client, db, church, signing_key):
    payload = telnyx_payload("+17735550191", text="Once")
    first = envelope(payload)
    assert _post(client, signing_key, first) == 200
    assert _post(client, signing_key, first) == 200  # the same event again: a duplicate
    assert _post(client, signing_key, envelope(payload)) == 200  # a new event id, same message
    webhook_processor.process_batch()
    conv = conversation_of(db, church, "+17735550191")
    assert [m.body for m in messages_of(db, conv)] == ["Once"]
    assert conv.unread_count == 1


def test_unsigned_inbound_is_refused(client, db, church, signing_key):
    raw = json.dumps(envelope(telnyx_payload("+17735550192"))).encode()
    response = client.post("/webhooks/telnyx", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    webhook_processor.process_batch()
    assert conversation_of(db, church, "+17735550192") is None
