"""Provider webhooks: POST /webhooks/telnyx stores each signed event once and answers at once.

The work happens in app.api.telnyx_events (drained in batches by the workers), so the
answer Telnyx waits for costs one signature check and one INSERT, whatever the event.
"""

from __future__ import annotations

import json
import logging

from flask import current_app, jsonify, request
from sqlalchemy import text

from app.api import bp, telnyx_events
from app.errors import json_error
from app.extensions import csrf, db, limiter
from app.security.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify_telnyx_signature

log = logging.getLogger(__name__)


def _read_capped(limit: int) -> bytes | None:
    """The raw body, or None when it is larger than `limit` (checked without reading it all)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    raw = request.stream.read(limit + 1)
    return None if len(raw) > limit else raw


@bp.post("/webhooks/telnyx")
@csrf.exempt
@limiter.exempt
def telnyx_webhook():
    """Verify, store once, nudge the processor, answer 200 (a duplicate also gets 200)."""
    raw = _read_capped(current_app.config.get("WEBHOOK_MAX_BYTES", 256 * 1024))
    if raw is None:
        return json_error(413, "payload_too_large", "The webhook body is larger than 256 KB.")
    public_key = current_app.config.get("TELNYX_PUBLIC_KEY")
    if not public_key:
        log.error("TELNYX_PUBLIC_KEY is not set: Telnyx webhooks cannot be verified")
        return json_error(503, "not_configured", "Webhook verification is not configured.")
    try:
        verify_telnyx_signature(
            raw, request.headers.get(SIGNATURE_HEADER), request.headers.get(TIMESTAMP_HEADER), public_key
        )
    except SignatureError as exc:
        log.warning("telnyx webhook refused: %s", exc.reason)
        return json_error(401, "invalid_signature", "The webhook signature or timestamp is not valid.")
    try:
        body = json.loads(raw)
        data = body["data"]
        event_id = str(data["id"])
        event_type = str(data.get("event_type") or "unknown")
    except (ValueError, KeyError, TypeError):
        return json_error(400, "invalid_payload", "The webhook body is not a Telnyx event.")
    # The raw body is stored as received (jsonb parses it); no ORM object on the hot path.
    new_id = db.session.scalar(
        text(
            "INSERT INTO webhook_events (provider, event_id, event_type, payload) "
            "VALUES (:provider, :event_id, :event_type, CAST(:payload AS jsonb)) "
            "ON CONFLICT (provider, event_id) DO NOTHING RETURNING id"
        ),
        {
            "provider": telnyx_events.PROVIDER,
            "event_id": event_id[:128],
            "event_type": event_type[:64],
            "payload": raw.decode("utf-8"),
        },
    )
    db.session.commit()
    if new_id is None:
        return jsonify(status="duplicate")
    try:
        telnyx_events.nudge()
    except Exception:  # noqa: BLE001 - stored is what matters; the periodic sweep processes it
        log.warning("could not nudge the webhook processor; the sweep will pick the event up")
    return jsonify(status="stored")
