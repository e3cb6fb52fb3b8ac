"""VAPID keys for Web Push (RFC 8292): make a pair, and load the app's for signing.

    python -m app.notifications.vapid        prints VAPID_PUBLIC_KEY=… and VAPID_PRIVATE_KEY=…

Both are base64url without padding: the public key is the uncompressed P-256 point browsers take
as `applicationServerKey`, the private key its 32-byte secret.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_key_pair() -> tuple[str, str]:
    """A fresh (public, private) VAPID pair."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return b64url(public), b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def signer(private_key: str) -> Vapid:
    """The signer pywebpush uses for the Authorization header (vapid t=<JWT>, k=<public key>)."""
    return Vapid.from_raw(private_key.encode())


if __name__ == "__main__":
    public, private = new_key_pair()
    print(f"VAPID_PUBLIC_KEY={public}")
    print(f"VAPID_PRIVATE_KEY={private}")
