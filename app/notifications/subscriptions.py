"""Browsers' push subscriptions: checked before they are kept, kept one per endpoint.

An endpoint is a URL Koinonia will POST to from its workers, chosen by whoever is signed in, so
it is checked like any outbound URL: https to a real push service only (the hosts browsers
use), with loopback http allowed in development and test so a local push service can stand in.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, func
from sqlalchemy.dialects.postgresql import insert

from app.errors import ValidationError
from app.extensions import db
from app.models import PushSubscription, User
from app.models.notifications import ENDPOINT_MAX

# Chrome and Edge (FCM), Firefox (autopush), Safari (Apple), and Windows' own push (WNS).
PUSH_HOSTS = frozenset({"fcm.googleapis.com", "updates.push.services.mozilla.com", "web.push.apple.com"})
PUSH_HOST_SUFFIXES = (".push.apple.com", ".notify.windows.com", ".push.services.mozilla.com")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
LOCAL_ENVIRONMENTS = ("development", "test")


@dataclass(frozen=True)
class Keys:
    endpoint: str
    p256dh: str
    auth: str


def endpoint_allowed(url: str, environment: str) -> bool:
    """True for https URLs of known push services (and loopback http outside production)."""
    if not isinstance(url, str) or len(url) > ENDPOINT_MAX:
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    if parts.username is not None or parts.password is not None or not host:
        return False
    if environment in LOCAL_ENVIRONMENTS and host in LOOPBACK_HOSTS and parts.scheme in ("http", "https"):
        return True
    if parts.scheme != "https" or port not in (None, 443):
        return False
    return host in PUSH_HOSTS or host.endswith(PUSH_HOST_SUFFIXES)


def _b64url(value: Any, size: int) -> bytes | None:
    if not isinstance(value, str) or len(value) > 128:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


def parse_subscription(data: Any, environment: str) -> Keys:
    """A PushSubscription's JSON ({endpoint, keys: {p256dh, auth}}) checked; ValidationError if not."""
    if not isinstance(data, dict):
        raise ValidationError("Send the browser's push subscription as JSON.")
    endpoint = data.get("endpoint")
    keys = data.get("keys") if isinstance(data.get("keys"), dict) else {}
    errors: dict[str, str] = {}
    if not endpoint_allowed(endpoint, environment):
        errors["endpoint"] = "This push service is not one Koinonia sends to."
    point = _b64url(keys.get("p256dh"), 65)
    try:
        if point is None:
            raise ValueError
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        errors["p256dh"] = "Not a P-256 public key."
    if _b64url(keys.get("auth"), 16) is None:
        errors["auth"] = "Not a 16-byte authentication secret."
    if errors:
        raise ValidationError("That push subscription cannot be used.", details=errors)
    return Keys(endpoint, keys["p256dh"], keys["auth"])


def subscribe(user: User, keys: Keys) -> None:
    """Keep the subscription for this user; an endpoint seen before now belongs to them (the caller commits)."""
    values = {"church_id": user.church_id, "user_id": user.id, "p256dh": keys.p256dh, "auth": keys.auth}
    stmt = insert(PushSubscription).values(endpoint=keys.endpoint, **values)
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["endpoint"],
            set_={**values, "failures": 0, "created_at": func.now(), "last_success_at": None},
        )
    )


def unsubscribe(user: User, endpoint: Any) -> bool:
    """Forget this user's subscription at `endpoint`; True when there was one (the caller commits)."""
    if not isinstance(endpoint, str) or len(endpoint) > ENDPOINT_MAX:
        return False
    result = db.session.execute(
        delete(PushSubscription).where(PushSubscription.user_id == user.id, PushSubscription.endpoint == endpoint)
    )
    return bool(result.rowcount)
