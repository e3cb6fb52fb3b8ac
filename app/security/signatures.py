"""Webhook signatures: verify Telnyx (Ed25519) and build test headers for Telnyx and Stripe."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SIGNATURE_HEADER = "telnyx-signature-ed25519"
TIMESTAMP_HEADER = "telnyx-timestamp"
DEFAULT_TOLERANCE = 300


class SignatureError(Exception):
    """A webhook failed verification; `reason` is safe to log, never to return in detail."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@lru_cache(maxsize=8)
def load_public_key(public_key_b64: str) -> Ed25519PublicKey:
    """Parse a base64 32-byte Ed25519 public key (cached: webhooks arrive by the thousand)."""
    try:
        raw = base64.b64decode(public_key_b64.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("TELNYX_PUBLIC_KEY must be base64 of a 32-byte Ed25519 key") from exc


def public_key_b64(private_key: Ed25519PrivateKey) -> str:
    """The base64 public key matching `private_key`, as the Telnyx portal shows it."""
    raw = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def verify_telnyx_signature(
    raw_body: bytes,
    signature_b64: str | None,
    timestamp: str | None,
    public_key_b64: str,
    *,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
) -> None:
    """Check a Telnyx webhook's Ed25519 signature and timestamp; raise SignatureError if bad."""
    if not signature_b64:
        raise SignatureError("missing signature header")
    if not timestamp:
        raise SignatureError("missing timestamp header")
    try:
        ts = int(timestamp.strip())
    except ValueError:
        raise SignatureError("malformed timestamp") from None
    # Checked before the signature so a replayed old event is refused even if genuine.
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        raise SignatureError("timestamp outside tolerance")
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("signature is not base64") from None
    if len(signature) != 64:
        raise SignatureError("signature has the wrong length")
    try:
        key = load_public_key(public_key_b64)
    except ValueError:
        raise SignatureError("public key is not configured correctly") from None
    try:
        key.verify(signature, f"{timestamp.strip()}|".encode() + raw_body)
    except InvalidSignature:
        raise SignatureError("signature does not match") from None


def sign_telnyx(raw_body: bytes, private_key: Ed25519PrivateKey, timestamp: int) -> dict[str, str]:
    """Headers Telnyx would send with `raw_body` (used by the simulator and tests)."""
    signature = private_key.sign(f"{timestamp}|".encode() + raw_body)
    return {
        SIGNATURE_HEADER: base64.b64encode(signature).decode("ascii"),
        TIMESTAMP_HEADER: str(timestamp),
    }


def stripe_signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """A `Stripe-Signature` header value for `payload`, as Stripe computes it (for tests)."""
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
