"""`Idempotency-Key` on POST: a retried request gets the first answer instead of a second effect.

Per API key, for 24 hours, in Redis. The key is claimed with SET NX before the view runs, so of
two identical requests racing only one executes; the other answers 409 while the first is in
progress. The first answer (status and body) is stored when it is sent; an answer of 5xx is not
kept, so the client may retry. The same key with another body (or another path) answers 409.
"""

from __future__ import annotations

import hashlib
import json

from flask import Response, g, request

from app.errors import Conflict, ValidationError
from app.extensions import rds

TTL_SECONDS = 24 * 3600
PENDING_SECONDS = 60  # a claim whose request died is released after this
MAX_KEY = 255
HEADER = "Idempotency-Key"


def _fingerprint() -> str:
    raw = request.get_data(cache=True)
    try:
        body = json.dumps(json.loads(raw or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        body = raw  # not JSON: the view answers 422, and the same bytes replay it
    return hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + body).hexdigest()


def redis_key(key_id: int, value: str) -> str:
    """Where the answer to `Idempotency-Key: value` sent with API key `key_id` is kept."""
    return f"koinonia:idem:{key_id}:{hashlib.sha256(value.encode()).hexdigest()}"


def claim() -> Response | None:
    """Before a POST's view: claim its key, or answer with the first response, or 409."""
    value = request.headers.get(HEADER)
    if request.method != "POST" or value is None:
        return None
    if not value or len(value) > MAX_KEY:
        raise ValidationError("Bad Idempotency-Key.", details={HEADER: [f"Between 1 and {MAX_KEY} characters."]})
    fingerprint = _fingerprint()
    key = redis_key(g.api_actor.key.id, value)
    pending = json.dumps({"state": "pending", "fingerprint": fingerprint})
    if rds.client.set(key, pending, nx=True, ex=PENDING_SECONDS):
        g.idempotency = (key, fingerprint)
        return None
    stored = rds.client.get(key)
    if stored is None:  # expired between the two calls: treat as in progress, the client retries
        raise Conflict("A request with this Idempotency-Key is in progress; retry shortly.")
    first = json.loads(stored)
    if first["fingerprint"] != fingerprint:
        raise Conflict("This Idempotency-Key was used with another request body.", details={HEADER: ["Already used."]})
    if first["state"] == "pending":
        raise Conflict("A request with this Idempotency-Key is in progress; retry shortly.")
    response = Response(first["body"], status=first["status"], mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def store(response: Response) -> Response:
    """After the view: keep its answer for replays (5xx releases the key instead)."""
    claimed = g.pop("idempotency", None)
    if claimed is None:
        return response
    key, fingerprint = claimed
    if response.status_code >= 500:
        rds.client.delete(key)
        return response
    first = {
        "state": "done",
        "fingerprint": fingerprint,
        "status": response.status_code,
        "body": response.get_data(as_text=True),
    }
    rds.client.set(key, json.dumps(first), ex=TTL_SECONDS)
    return response
