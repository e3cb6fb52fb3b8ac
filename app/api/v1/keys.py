"""API keys: made, shown once, found by their digest, revoked and rotated.

A key is `kn_live_` and 32 random bytes (base64url). Only its SHA-256 is stored: a key that
random needs no slow KDF, and finding the row by the unique digest index is the comparison,
so there is no secret compared byte by byte in Python. `prefix` (the first characters) is kept
in clear so an owner can tell keys apart.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update

from app import audit
from app.errors import ValidationError
from app.extensions import db
from app.models import User
from app.models.api_keys import API_SCOPES, ApiKey
from app.tenancy import scoped

KEY_PREFIX = "kn_live_"
SHOWN_PREFIX = len(KEY_PREFIX) + 4  # "kn_live_ab12"
MAX_TOKEN = 100  # a bearer longer than any key we make is not looked up
ROTATION_OVERLAP = timedelta(hours=24)
# last_used_at is written at most this often per key: a busy key costs no write per request.
LAST_USED_EVERY = timedelta(minutes=1)
NAME_MAX = 100


@dataclass(frozen=True)
class NewKey:
    """A key as made: the row, and the key itself, which is never shown again."""

    row: ApiKey
    secret: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _clean(name: str, scopes: list[str]) -> tuple[str, list[str]]:
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Name the key after what will use it."]
    elif len(name) > NAME_MAX:
        errors["name"] = [f"At most {NAME_MAX} characters."]
    chosen = [s for s in API_SCOPES if s in set(scopes or [])]
    unknown = set(scopes or []) - set(API_SCOPES)
    if unknown or not chosen:
        errors["scopes"] = ["Choose at least one of: " + ", ".join(API_SCOPES) + "."]
    if errors:
        raise ValidationError("Check the key's name and scopes.", details=errors)
    return name, chosen


def _make(church_id: int, name: str, scopes: list[str], actor: User) -> NewKey:
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        church_id=church_id,
        name=name,
        scopes=scopes,
        prefix=secret[:SHOWN_PREFIX],
        key_hash=digest(secret),
        created_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    return NewKey(row, secret)


def create_key(actor: User, name: str, scopes: list[str]) -> NewKey:
    """Make a key for the actor's church (owners only: the route checks the role)."""
    name, scopes = _clean(name, scopes)
    made = _make(actor.church_id, name, scopes, actor)
    audit.record("api_key.created", target=made.row, detail={"name": name, "scopes": scopes}, actor=actor)
    return made


def church_keys(church_id: int) -> list[ApiKey]:
    """The church's keys, newest first, revoked ones included (the page shows when they stopped)."""
    return list(db.session.scalars(scoped(ApiKey, church_id).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())))


def revoke_key(actor: User, key: ApiKey) -> None:
    """Stop the key at once."""
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        audit.record("api_key.revoked", target=key, detail={"name": key.name}, actor=actor)


def rotate_key(actor: User, key: ApiKey, overlap: timedelta = ROTATION_OVERLAP) -> NewKey:
    """A new key with the same name and scopes; the old one keeps working for `overlap`."""
    if not is_usable(key, datetime.now(UTC)):
        raise ValidationError("This key no longer works; make a new one instead.")
    made = _make(key.church_id, key.name, list(key.scopes), actor)
    ends = datetime.now(UTC) + overlap
    key.expires_at = min(key.expires_at, ends) if key.expires_at else ends
    key.replaced_by_id = made.row.id
    audit.record("api_key.rotated", target=key, detail={"name": key.name}, actor=actor)
    return made


def is_usable(key: ApiKey, now: datetime) -> bool:
    return key.revoked_at is None and (key.expires_at is None or key.expires_at > now)


def find_key(token: str) -> ApiKey | None:
    """The working key `token` names, or None (unknown, malformed, revoked or past its overlap)."""
    if not token.startswith(KEY_PREFIX) or len(token) > MAX_TOKEN:
        return None
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(token)))
    if key is None or not is_usable(key, datetime.now(UTC)):
        return None
    return key


def touch(key: ApiKey) -> bool:
    """Record that the key was used, at most once a minute (one conditional UPDATE, no read).

    Returns whether it wrote, so the caller commits only then.
    """
    now = datetime.now(UTC)
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_EVERY:
        return False
    stale = now - LAST_USED_EVERY
    db.session.execute(
        update(ApiKey)
        .where(ApiKey.id == key.id, or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < stale))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return True
