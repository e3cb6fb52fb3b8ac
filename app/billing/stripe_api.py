"""The Stripe calls Koinonia makes, through one configured `stripe.StripeClient`.

STRIPE_API_BASE points the client at another server speaking the Stripe API (the local fake
used by tests and the browser journey). Objects come back as plain dicts so the rest of
billing handles API responses and webhook payloads the same way.
"""

from __future__ import annotations

import json
from typing import Any

import stripe
from flask import current_app

from app.errors import ProviderFailure


def configured() -> bool:
    """True when a secret key is set: without one, /billing explains and plans still apply."""
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def client() -> stripe.StripeClient:
    config = current_app.config
    base = config.get("STRIPE_API_BASE")
    options: dict[str, Any] = {"max_network_retries": 2}
    if base:
        options["base_addresses"] = {"api": base}
    return stripe.StripeClient(config["STRIPE_SECRET_KEY"], **options)


def _plain(obj: Any) -> dict[str, Any]:
    return json.loads(str(obj))


def _call(what: str, fn, *args, **kwargs) -> dict[str, Any]:
    try:
        return _plain(fn(*args, **kwargs))
    except stripe.StripeError as exc:
        current_app.logger.warning("stripe %s failed: %s", what, exc.user_message or exc.__class__.__name__)
        raise ProviderFailure(f"Stripe could not {what} right now. Please try again in a minute.") from exc


def create_checkout_session(params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
    """A hosted Checkout page for a new subscription; the key makes a double submit one session."""
    return _call(
        "start checkout",
        client().v1.checkout.sessions.create,
        params=params,
        options={"idempotency_key": idempotency_key},
    )


def create_portal_session(params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
    """A Customer Portal session (payment method, invoices, plan change, cancellation)."""
    return _call(
        "open the billing portal",
        client().v1.billing_portal.sessions.create,
        params=params,
        options={"idempotency_key": idempotency_key},
    )


def retrieve_subscription(subscription_id: str) -> dict[str, Any] | None:
    """The subscription as Stripe has it now: what webhook handlers apply, whatever the event said.

    None when Stripe has no such subscription any more (deleted with its customer, say): an
    answer, not an outage, so the event is applied rather than retried for days.
    """
    try:
        return _call("load the subscription", client().v1.subscriptions.retrieve, subscription_id)
    except ProviderFailure as exc:
        cause = exc.__cause__
        if isinstance(cause, stripe.InvalidRequestError) and cause.code == "resource_missing":
            return None
        raise
