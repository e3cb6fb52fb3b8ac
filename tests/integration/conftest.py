"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.security.signatures import public_key_b64


@pytest.fixture
def signing_key(app):
    """A Telnyx signing key the app trusts for the test: webhooks signed with it are accepted."""
    key = Ed25519PrivateKey.generate()
    old = app.config.get("TELNYX_PUBLIC_KEY")
    app.config["TELNYX_PUBLIC_KEY"] = public_key_b64(key)
    yield key
    app.config["TELNYX_PUBLIC_KEY"] = old
