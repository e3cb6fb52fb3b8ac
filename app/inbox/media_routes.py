"""`GET /media/<token>`: a picture attached to a text, for the provider fetching it and the inbox showing it."""

from __future__ import annotations

from flask import abort, send_file

from app import media
from app.inbox import bp


@bp.get("/media/<token>")
def media_file(token: str):
    """The stored picture a signed, unexpired token names; 404 for anything else (no sign-in: the
    provider fetches it, and the token is the secret)."""
    found = media.resolve(token)
    if found is None:
        abort(404)
    path, content_type = found
    response = send_file(path, mimetype=content_type, max_age=3600, conditional=True)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
