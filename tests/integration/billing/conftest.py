"""Billing tests run against the local fake Stripe API (tests/fakes/stripe_server.py)."""

from __future__ import annotations

import pytest

from tests.fakes.stripe_server import FakeStripe


@pytest.fixture(scope="session")
def fake_stripe_server():
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def fake_stripe(app, fake_stripe_server):
    """The app configured with the fake's keys and prices for one test."""
    fake = fake_stripe_server
    keys = ("STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "STRIPE_PRICE_IDS")
    saved = {k: app.config.get(k) for k in keys}
    app.config.update(
        STRIPE_SECRET_KEY=fake.secret_key,
        STRIPE_WEBHOOK_SECRET=fake.webhook_secret,
        STRIPE_API_BASE=fake.api_base,
        STRIPE_PRICE_IDS=dict(fake.price_ids),
    )
    yield fake
    app.config.update(saved)


@pytest.fixture
def post_event(client, fake_stripe):
    """POST a Stripe event to /webhooks/stripe, signed as Stripe signs it (or with `signature`)."""
    import json

    def _post(event: dict, signature: str | None = None):
        body = json.dumps(event).encode()
        return client.post(
            "/webhooks/stripe",
            data=body,
            headers={"Stripe-Signature": signature or fake_stripe.sign(body), "Content-Type": "application/json"},
        )

    return _post
