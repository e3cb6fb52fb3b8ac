"""POST /webhooks/stripe: verify the signature, store the event once, apply it to the subscription.

Stripe sends few events, so they are applied in the request, in the same transaction as the
stored row: if applying fails (the API cannot be reached, say), nothing is kept, the answer is
500, and Stripe's retry finds the event new again. A subscription the API no longer has is an
answer, not a failure: the church's row ends if it was that one, and the event is kept (200).
A duplicate answers 200 and does nothing.
"""

from __future__ import annotations

import json
import logging

import stripe
from flask import current_app, jsonify, request

from app.api import bp
from app.billing import services
from app.errors import json_error
from app.extensions import csrf, db, limiter
from app.models import Subscription

log = logging.getLogger(__name__)


@bp.post("/webhooks/stripe")
@csrf.exempt
@limiter.exempt
def stripe_webhook():
    """Verify with the endpoint secret, store once in webhook_events, bring the subscription up to date."""
    limit = current_app.config.get("WEBHOOK_MAX_BYTES", 256 * 1024)
    if request.content_length is not None and request.content_length > limit:
        return json_error(413, "payload_too_large", "The webhook body is too large.")
    raw = request.get_data(cache=False)
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        log.error("STRIPE_WEBHOOK_SECRET is not set: Stripe webhooks cannot be verified")
        return json_error(503, "not_configured", "Webhook verification is not configured.")
    # Verify, then parse ourselves: construct_event would build a stripe.Event from any JSON and
    # fails with an AttributeError (a 500) on a signed body that is JSON but not an object.
    try:
        payload = raw.decode("utf-8")
        header = request.headers.get("Stripe-Signature", "")
        stripe.WebhookSignature.verify_header(payload, header, secret, stripe.Webhook.DEFAULT_TOLERANCE)
        event = json.loads(payload)
    except stripe.SignatureVerificationError:
        log.warning("stripe webhook refused: bad signature")
        return json_error(400, "invalid_signature", "The Stripe-Signature header does not match the payload.")
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are both ValueErrors
        return json_error(400, "invalid_payload", "The webhook body is not JSON.")
    if not isinstance(event, dict) or not event.get("id"):
        return json_error(400, "invalid_payload", "The webhook body is not a Stripe event.")
    row_id = services.store_event(event)
    if row_id is None:
        db.session.rollback()
        return jsonify(status="duplicate")
    try:
        outcome = services.apply_event(event)
        church_id = _church_id(event)
        services.mark_processed(row_id, church_id, None if outcome in ("applied", "ignored") else outcome)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("stripe event %s (%s) could not be applied; Stripe will retry", event["id"], event.get("type"))
        return json_error(500, "processing_failed", "The event could not be applied; please retry.")
    return jsonify(status=outcome)


def _church_id(event: dict) -> int | None:
    obj = (event.get("data") or {}).get("object") or {}
    ref = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("church_id")
    if ref and str(ref).isdigit():
        return int(ref)
    customer = obj.get("customer")
    if isinstance(customer, str):
        return db.session.scalar(db.select(Subscription.church_id).where(Subscription.stripe_customer_id == customer))
    return None
