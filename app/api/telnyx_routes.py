"""Provider webhooks: POST /webhooks/telnyx stores each signed event once and answers at once.

The work happens in app.webhook_processor (drained in batches by the workers), so the
answer Telnyx waits for costs one signature check and one INSERT, whatever the event.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime

from flask import Response, current_app, request
from sqlalchemy import Engine, create_engine, text

from app import webhook_processor
from app.api import bp
from app.config import driver_connect_args
from app.errors import json_error
from app.extensions import csrf, db, limiter
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
# One autocommit pool per process and database, for the single INSERT each webhook costs.
_intake_engines: dict[tuple[int, str], Engine] = {}


def _intake_engine(engine: Engine) -> Engine:
    """A small autocommit pool without pre-ping beside the app's pool.

    Through the ORM session a webhook cost four round trips (pre-ping, BEGIN, INSERT, COMMIT);
    here it costs one. A connection the server dropped fails that one statement, is discarded,
    and the insert is tried once more on a fresh connection (see _insert_event).
    """
    key = (os.getpid(), str(engine.url))
    found = _intake_engines.get(key)
    if found is None:
        found = create_engine(
            engine.url,
            connect_args={"autocommit": True, **driver_connect_args(current_app.config["DATABASE_POOLER"])},
            pool_pre_ping=False,
            pool_reset_on_return=None,
            pool_size=8,
            max_overflow=8,
            pool_recycle=1800,
        )
        _intake_engines[key] = found
    return found


def _insert_event(params: tuple[str, str, str, str, datetime]) -> bool:
    """Store the event unless it is a duplicate; True when this request stored it."""
    bind = db.engine
    if not isinstance(bind, Engine):
        # The app is bound to an open connection (the test suite's rolled-back transaction).
        new_id = db.session.scalar(
            text(
                "INSERT INTO webhook_events (provider, event_id, event_type, payload, occurred_at) "
                "VALUES (:p, :e, :t, CAST(:payload AS jsonb), :at) "
                "ON CONFLICT (provider, event_id, occurred_at) DO NOTHING RETURNING id"
            ),
            dict(zip(("p", "e", "t", "payload", "at"), params, strict=True)),
        )
        db.session.commit()
        return new_id is not None
    engine = _intake_engine(bind)
    for attempt in (1, 2):
        conn = engine.raw_connection()
        try:
            with conn.cursor() as cur:
                cur.execute(INSERT_EVENT, params)
                return cur.fetchone() is not None
        except engine.dialect.loaded_dbapi.Error as exc:
            if attempt == 2 or not engine.dialect.is_disconnect(exc, conn.driver_connection, None):
                raise
            conn.invalidate(exc)
            log.warning("webhook insert lost its database connection; retrying on a fresh one")
        finally:
            conn.close()
    return False


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
