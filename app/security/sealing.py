"""Secrets the database keeps but must not be able to read back on its own (authenticator-app keys).

They are sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from SECRET_KEY with
HKDF, one key per purpose. A dump of the database alone reveals nothing; SECRET_KEY already guards
every session, and deriving from it means one secret to deploy instead of two that must travel
together. The cost: replacing SECRET_KEY makes sealed values unreadable (`open_sealed` answers
None), so people who used an authenticator app sign in with a recovery code or passkey and set the
app up again. Koinonia ends sessions with users.session_version, so there is no routine reason to
replace the key.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


@lru_cache(maxsize=16)
def _fernet(secret_key: str, purpose: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"koinonia:{purpose}".encode()).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(value: str, purpose: str) -> str:
    """`value` encrypted and authenticated under the app's key for `purpose`."""
    return _fernet(current_app.config["SECRET_KEY"], purpose).encrypt(value.encode()).decode()


def open_sealed(token: str, purpose: str) -> str | None:
    """What `seal` sealed, or None when it was sealed under another key (or tampered with)."""
    try:
        return _fernet(current_app.config["SECRET_KEY"], purpose).decrypt(token.encode()).decode()
    except InvalidToken:
        return None
