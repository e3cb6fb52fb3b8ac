"""Endpoint secrets: `whsec_` and 24 random bytes in base64, kept sealed under SECRET_KEY."""

from __future__ import annotations

import base64
import os

from app.security.sealing import open_sealed, seal

PURPOSE = "webhook-endpoint-secret"
PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh secret as Standard Webhooks writes it: `whsec_` + base64 of 24 random bytes."""
    return PREFIX + base64.b64encode(os.urandom(24)).decode()


def seal_secret(secret: str) -> str:
    return seal(secret, PURPOSE)


def open_secret(sealed: str) -> str | None:
    """The secret, or None when it was sealed under another SECRET_KEY."""
    return open_sealed(sealed, PURPOSE)
