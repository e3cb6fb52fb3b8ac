"""Pictures staff attach to one-to-one texts: checked, stored under MEDIA_ROOT, and served to the
provider (and the inbox) from signed URLs that expire.

Only JPEG, PNG and GIF up to MAX_BYTES are kept, told apart by their first bytes (never by the
name or the browser's type). A stored picture is named `<church id>/<random>.<ext>`; its URL is
`APP_BASE_URL/media/<token>`, the token an itsdangerous signature of that name with a time, so
the URL cannot be guessed, cannot name another file, and stops working after MEDIA_URL_SECONDS.
"""

from __future__ import annotations

import os
import re
import secrets
from typing import IO, Any

from flask import current_app
from itsdangerous import BadData, URLSafeTimedSerializer

from app.errors import ValidationError

MAX_BYTES = 1024 * 1024
# First bytes of each accepted picture type: content type and file extension.
MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)
_STORED = re.compile(r"[0-9]{1,19}/[0-9a-f]{32}\.(?:jpg|png|gif)")
_SALT = "koinonia-media"
MAX_URL = 2048


def sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) of an accepted picture, from its first bytes; None otherwise."""
    for magic, content_type, ext in MAGIC:
        if head.startswith(magic):
            return content_type, ext
    return None


def save(church_id: int, stream: IO[bytes]) -> dict[str, Any]:
    """Keep an uploaded picture; the media item a message stores. ValidationError when refused."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValidationError(f"Pictures can be at most {MAX_BYTES // 1024:,} KB.")
    kind = sniff(data[:16])
    if kind is None:
        raise ValidationError("Attach a JPEG, PNG or GIF picture.")
    content_type, ext = kind
    stored = f"{int(church_id)}/{secrets.token_hex(16)}.{ext}"
    path = os.path.join(current_app.config["MEDIA_ROOT"], stored)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "xb") as out:
        out.write(data)
    return {"stored": stored, "content_type": content_type, "size": len(data)}


def link(url: str) -> dict[str, Any]:
    """A media item for a picture already online: an https:// link, bounded."""
    url = (url or "").strip()
    if len(url) > MAX_URL or not url.startswith("https://") or any(ch.isspace() for ch in url):
        raise ValidationError("A picture link must be an https:// address.")
    return {"url": url}


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def signed_url(stored: str) -> str:
    """Where the provider (or a browser) fetches a stored picture, for MEDIA_URL_SECONDS."""
    base = str(current_app.config["APP_BASE_URL"]).rstrip("/")
    return f"{base}/media/{_signer().dumps(stored)}"


def url_of(item: dict[str, Any]) -> str | None:
    """The URL of a message's media item: a fresh signed one for stored pictures."""
    if item.get("stored"):
        return signed_url(str(item["stored"]))
    return item.get("url")


def resolve(token: str) -> tuple[str, str] | None:
    """(path, content type) of the picture a valid, unexpired token names; None otherwise."""
    if len(token) > 512:
        return None
    try:
        stored = _signer().loads(token, max_age=current_app.config["MEDIA_URL_SECONDS"])
    except BadData:
        return None
    if not isinstance(stored, str) or not _STORED.fullmatch(stored):
        return None
    path = os.path.join(current_app.config["MEDIA_ROOT"], stored)
    if not os.path.isfile(path):
        return None
    ext = stored.rsplit(".", 1)[1]
    return path, next(ct for _, ct, e in MAGIC if e == ext)
