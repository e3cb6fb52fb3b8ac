"""Authenticator-app codes (RFC 6238: SHA-1, 6 digits, 30-second steps): pure functions, no storage."""

from __future__ import annotations

import hmac
import time

import pyotp
import segno

DIGITS = 6
PERIOD = 30
# Codes from one step either side of now are accepted: phones' clocks drift and people type slowly.
WINDOW = 1
ISSUER = "Koinonia"


def new_secret() -> str:
    """A fresh random base32 secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code (or from the text)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as an SVG QR code to place inline in a page (drawn here: no image service sees the secret)."""
    return segno.make(uri, error="m").svg_inline(
        scale=5, border=4, svgclass="qr-code", title="QR code for your authenticator app"
    )


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // PERIOD)


def matching_step(secret: str, code: str, *, now: float | None = None, after: int | None = None) -> int | None:
    """The time step `code` belongs to, within the window around `now` and later than `after`, or None.

    `after` is the last step a code was accepted for: a code from that step or before is refused,
    so a code seen over someone's shoulder (or replayed) cannot be used again.
    """
    code = normalize(code)
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    step = current_step(now)
    found = None
    # Every candidate is compared (in constant time), so timing tells nothing about which matched.
    for candidate in range(step - WINDOW, step + WINDOW + 1):
        if hmac.compare_digest(totp.at(candidate * PERIOD), code) and (after is None or candidate > after):
            found = candidate
    return found


def normalize(code: str) -> str:
    """What people type, without the spaces and dashes some apps show inside codes."""
    return "".join(ch for ch in (code or "")[:64] if ch not in " -\t")
