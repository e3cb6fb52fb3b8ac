"""The simulator's payloads match Telnyx's shapes (what the app parses in webhooks)."""

from __future__ import annotations

from app.delivery.simstate import FaultBook, inbound_message, outbound_message, validate_send


def test_outbound_message_is_a_full_telnyx_message_object():
    msg = outbound_message(
        {"from": "+13125550100", "to": "+13125550142", "text": "é" + "x" * 170}, "http://app/webhooks/telnyx"
    )
    assert msg["record_type"] == "message" and msg["direction"] == "outbound"
    assert msg["type"] == "SMS" and msg["encoding"] == "GSM-7" and msg["parts"] == 2
    assert msg["cost"] == {"amount": "0.0080", "currency": "USD"}
    assert msg["to"][0]["status"] == "queued" and msg["to"][0]["phone_number"] == "+13125550142"
    assert msg["from"]["phone_number"] == "+13125550100"
    assert msg["sent_at"] is None and msg["completed_at"] is None and msg["errors"] == []
    assert msg["webhook_url"] == "http://app/webhooks/telnyx"


def test_mms_and_per_message_webhook_url():
    msg = outbound_message(
        {
            "from": "+13125550100",
            "to": "+13125550142",
            "media_urls": ["https://x/a.jpg"],
            "webhook_url": "http://b/hook",
        },
        "",
    )
    assert msg["type"] == "MMS" and msg["media"][0]["url"] == "https://x/a.jpg"
    assert msg["webhook_url"] == "http://b/hook"


def test_inbound_message_has_telnyx_nulls_and_empty_webhook_url():
    msg = inbound_message({"from": "+13125550142", "to": "+13125550100", "text": "STOP", "media": ["https://x/y.png"]})
    assert msg["direction"] == "inbound" and msg["type"] == "MMS"
    assert msg["webhook_url"] == "" and msg["cost"] is None and msg["sent_at"] is None
    assert msg["media"][0] == {"url": "https://x/y.png", "content_type": None, "size": None, "sha256": None}


def test_validation_errors_use_telnyx_codes():
    status, errors = validate_send({"from": "3125550100", "to": "+13125550142"})
    assert status == 422
    assert {e["code"] for e in errors} == {"10016", "10004"}
    assert validate_send({"from": "+13125550100", "to": "+13125550142", "text": "hi"}) is None
    assert validate_send([1, 2])[0] == 400


def test_faults_are_consumed_in_order_and_expire_after_times():
    book = FaultBook()
    book.add({"to": "+13125550142", "kind": "rate_limit", "times": 2})
    book.add({"kind": "server_error", "times": 1})
    kinds = frozenset({"rate_limit", "server_error"})
    assert [book.take("+13125550142", kinds).kind for _ in range(3)] == ["rate_limit", "rate_limit", "server_error"]
    assert book.take("+13125550142", kinds) is None
