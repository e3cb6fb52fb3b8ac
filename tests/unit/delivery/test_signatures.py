"""Webhook signatures: Telnyx Ed25519 verification and the test-header builders."""

from __future__ import annotations

import base64
import json
import time

import pytest
import stripe
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.security.signatures import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureError,
    public_key_b64,
    sign_telnyx,
    stripe_signature_header,
    verify_telnyx_signature,
)

KEY = Ed25519PrivateKey.generate()
PUBLIC = public_key_b64(KEY)
BODY = json.dumps({"data": {"event_type": "message.received", "id": "e1"}}).encode()
NOW = 1_760_000_000


def headers(body: bytes = BODY, ts: int = NOW) -> dict[str, str]:
    return sign_telnyx(body, KEY, ts)


def verify(body: bytes, h: dict[str, str | None], now: float = NOW, key: str = PUBLIC) -> None:
    verify_telnyx_signature(body, h.get(SIGNATURE_HEADER), h.get(TIMESTAMP_HEADER), key, now=now)


def test_genuine_webhook_verifies():
    verify(BODY, headers())


def test_public_key_is_base64_of_32_bytes():
    assert len(base64.b64decode(PUBLIC)) == 32


def test_tampered_body_is_rejected():
    with pytest.raises(SignatureError, match="does not match"):
        verify(BODY.replace(b"e1", b"e2"), headers())


def test_signature_covers_the_timestamp():
    h = headers()
    h[TIMESTAMP_HEADER] = str(NOW + 1)
    with pytest.raises(SignatureError, match="does not match"):
        verify(BODY, h)


@pytest.mark.parametrize("skew", [301, -301, 10_000])
def test_stale_or_future_timestamps_are_rejected(skew):
    with pytest.raises(SignatureError, match="tolerance"):
        verify(BODY, headers(), now=NOW + skew)


def test_timestamp_inside_tolerance_is_accepted():
    verify(BODY, headers(), now=NOW + 300)
    verify(BODY, headers(), now=NOW - 300)


@pytest.mark.parametrize("missing", [SIGNATURE_HEADER, TIMESTAMP_HEADER])
def test_missing_header_is_rejected(missing):
    h: dict[str, str | None] = dict(headers())
    h[missing] = None
    with pytest.raises(SignatureError, match="missing"):
        verify(BODY, h)


@pytest.mark.parametrize(("sig", "reason"), [("not base64!!", "base64"), ("AAAA", "length")])
def test_malformed_signature_is_rejected(sig, reason):
    with pytest.raises(SignatureError, match=reason):
        verify(BODY, {SIGNATURE_HEADER: sig, TIMESTAMP_HEADER: str(NOW)})


def test_malformed_timestamp_is_rejected():
    with pytest.raises(SignatureError, match="timestamp"):
        verify(BODY, {**headers(), TIMESTAMP_HEADER: "yesterday"})


def test_signature_from_another_key_is_rejected():
    other = public_key_b64(Ed25519PrivateKey.generate())
    with pytest.raises(SignatureError, match="does not match"):
        verify(BODY, headers(), key=other)


def test_misconfigured_public_key_fails_closed():
    with pytest.raises(SignatureError, match="public key"):
        verify(BODY, headers(), key="not-a-key")


def test_default_clock_is_now():
    h = sign_telnyx(BODY, KEY, int(time.time()))
    verify_telnyx_signature(BODY, h[SIGNATURE_HEADER], h[TIMESTAMP_HEADER], PUBLIC)


def test_stripe_header_is_accepted_by_stripe_itself():
    payload = b'{"id": "evt_1", "type": "invoice.paid"}'
    ts = int(time.time())
    header = stripe_signature_header(payload, "whsec_test", ts)
    assert header.startswith(f"t={ts},v1=")
    assert stripe.WebhookSignature.verify_header(payload.decode(), header, "whsec_test", tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(payload.decode(), header, "whsec_other", tolerance=300)
