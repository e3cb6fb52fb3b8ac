"""Provider webhooks: POST /webhooks/telnyx stores each signed event once and answers at once.

The work happens in app.webhook_processor (drained in batches by the workers), so the
answer Telnyx waits for costs one signature check and one INSERT, whatever the event.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from flask import Response, current_app, request

from app import single_statement, webhook_processor
from app.api import bp
from app.errors import json_error
from app.extensions import csrf, limiter
from app.partitions import event_time
from app.security.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, verify_telnyx_signature

log = logging.getLogger(__name__)

# webhook_events is partitioned by the event's own time (app/partitions.py), which every
# redelivery of an event repeats, so (provider, event_id, occurred_at) is as unique as the id.
INSERT_EVENT = (
    "INSERT INTO webhook_events (provider, event_id, event_type, payload, occurred_at) "
    "VALUES (%s, %s, %s, CAST(%s AS jsonb), %s) "
    "ON CONFLICT (provider, event_id, occurred_at) DO NOTHING RETURNING id"
)
# The two answers, encoded once (Telnyx only needs the 200; the body helps whoever reads logs).
STORED_ANSWER = b'{"status":"stored"}\n'
DUPLICATE_ANSWER = b'{"status":"duplicate"}\n'


def _insert_event(params: tuple[str, str, str, str, datetime]) -> bool:
    """Store the event unless it is a duplicate (one round trip); True when this request stored it."""
    return single_statement.one_row(INSERT_EVENT, params, write=True) is not None


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
    occurred_at = event_time(data.get("occurred_at"))
    # The raw body is stored as received (jsonb parses it); no ORM object on the hot path.
    stored = _insert_event(
        (webhook_processor.PROVIDER, event_id[:128], event_type[:64], raw.decode("utf-8"), occurred_at)
    )
    if not stored:
        return Response(DUPLICATE_ANSWER, mimetype="application/json")
    try:
        webhook_processor.nudge()
    except Exception:  # noqa: BLE001 - stored is what matters; the periodic sweep processes it
        log.warning("could not nudge the webhook processor; the sweep will pick the event up")
    return Response(STORED_ANSWER, mimetype="application/json")
