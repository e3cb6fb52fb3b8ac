"""Webhooks from the simulator: Telnyx envelope, order, signatures, retries, inbound texts."""

from __future__ import annotations

import base64
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.delivery.telnyx import TelnyxClient
from app.security.signatures import SignatureError, verify_telnyx_signature

CHURCH = "+13125550100"
MEMBER = "+13125550142"
ROOT = Path(__file__).resolve().parents[3]


def verify(received, key: str, body: bytes | None = None, now: float | None = None) -> None:
    verify_telnyx_signature(
        received.body if body is None else body,
        received.headers.get("telnyx-signature-ed25519"),
        received.headers.get("telnyx-timestamp"),
        key,
        now=now,
    )


def test_sent_then_finalized_in_telnyx_envelope(simulator, webhook_sink):
    with TelnyxClient(simulator.api_base, "KEY_test") as client:
        result = client.send(CHURCH, MEMBER, "Bible study moved to Thursday")
    sent, final = webhook_sink.wait_for(2)
    assert [sent["data"]["event_type"], final["data"]["event_type"]] == ["message.sent", "message.finalized"]
    for event in (sent, final):
        assert event["data"]["record_type"] == "event"
        assert event["data"]["payload"]["id"] == result.provider_message_id
        assert event["meta"] == {"attempt": 1, "delivered_to": webhook_sink.url}
        assert event["data"]["occurred_at"].endswith("+00:00")
    assert sent["data"]["id"] != final["data"]["id"]
    assert sent["data"]["payload"]["to"][0]["status"] == "sent"
    assert final["data"]["payload"]["to"][0]["status"] == "delivered"
    assert final["data"]["payload"]["completed_at"] is not None
    assert simulator.messages()[0]["status"] == "delivered"


def test_signature_round_trip_and_tampering(simulator, webhook_sink):
    simulator.inbound(MEMBER, CHURCH, "Can I bring a friend?")
    [received] = webhook_sink.received
    verify(received, simulator.public_key_b64)
    with pytest.raises(SignatureError):
        verify(received, simulator.public_key_b64, body=received.body.replace(b"friend", b"fiend"))
    stale = int(received.headers["telnyx-timestamp"]) + 301
    with pytest.raises(SignatureError, match="tolerance"):
        verify(received, simulator.public_key_b64, now=stale)
    del received.headers["telnyx-signature-ed25519"]
    with pytest.raises(SignatureError, match="missing"):
        verify(received, simulator.public_key_b64)


def test_inbound_payload_is_shaped_like_telnyx(simulator, webhook_sink):
    result = simulator.inbound(MEMBER, CHURCH, "Amen", media=["https://example.org/p.jpg"])
    assert result["delivered"] is True
    [event] = webhook_sink.events("message.received")
    payload = event["data"]["payload"]
    assert payload["direction"] == "inbound" and payload["type"] == "MMS"
    assert payload["from"]["phone_number"] == MEMBER and payload["to"][0]["phone_number"] == CHURCH
    assert payload["webhook_url"] == "" and payload["cost"] is None and payload["completed_at"] is None
    assert payload["media"][0]["url"] == "https://example.org/p.jpg"


def test_inbound_over_http_does_not_wait_by_default(simulator, webhook_sink):
    r = httpx.post(f"{simulator.url}/_sim/inbound", json={"from": MEMBER, "to": CHURCH, "text": "HELP"})
    assert r.status_code == 202
    webhook_sink.wait_for(1, "message.received")
    bad = httpx.post(f"{simulator.url}/_sim/inbound", json={"from": "42", "to": CHURCH, "text": "x"})
    assert bad.status_code == 422


def test_failed_webhook_is_retried_with_the_same_event_id(simulator, webhook_sink):
    webhook_sink.statuses = [500, 503]
    simulator.inbound(MEMBER, CHURCH, "hello")
    attempts = webhook_sink.events()
    assert [e["meta"]["attempt"] for e in attempts] == [1, 2, 3]
    assert len({e["data"]["id"] for e in attempts}) == 1
    assert simulator.webhook_log()[-1]["ok"] is True


def test_webhook_given_up_after_three_attempts(simulator, webhook_sink):
    webhook_sink.statuses = [500, 500, 500]
    assert simulator.inbound(MEMBER, CHURCH, "hello")["delivered"] is False
    assert simulator.stats()["webhooks"]["failed"] == 1


def test_per_message_webhook_url_wins(simulator, webhook_sink):
    simulator.webhook_url = "http://127.0.0.1:9/nowhere"
    with TelnyxClient(simulator.api_base, "KEY_test") as client:
        client.send(CHURCH, MEMBER, "hi", webhook_url=webhook_sink.url)
    webhook_sink.wait_for(2)


def test_programmed_reply_arrives_after_delivery(simulator, webhook_sink):
    simulator.add_fault(MEMBER, "reply", text="STOP", times=1)
    with TelnyxClient(simulator.api_base, "KEY_test") as client:
        client.send(CHURCH, MEMBER, "Reply Y to confirm")
    [reply] = webhook_sink.wait_for(1, "message.received")
    assert reply["data"]["payload"]["text"] == "STOP"
    assert reply["data"]["payload"]["from"]["phone_number"] == MEMBER


def test_cli_generates_key_serves_and_stops(tmp_path):
    key_file = tmp_path / "dev" / "sim.key"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    public = subprocess.run(
        [sys.executable, "-m", "app.delivery.simulator", "public-key", "--private-key-file", str(key_file)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    ).stdout.strip()
    assert len(base64.b64decode(public)) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app.delivery.simulator",
            "--port",
            str(port),
            "--no-webhooks",
            "--private-key-file",
            str(key_file),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/_sim/public-key").json()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and proc.poll() is None, "simulator did not start"
                time.sleep(0.05)
        assert body["public_key"] == public
        with TelnyxClient(f"http://127.0.0.1:{port}/v2", "KEY_test") as client:
            assert client.send(CHURCH, MEMBER, "hi").status == "queued"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
