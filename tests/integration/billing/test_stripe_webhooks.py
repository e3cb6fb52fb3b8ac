"""POST /webhooks/stripe: signatures, idempotency, out-of-order events, the API fetch winning."""

from __future__ import annotations

import json
import time

from sqlalchemy import func, select

from app.models import Subscription, WebhookEvent


def _stored(db, event_id: str) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(WebhookEvent)
        .where(WebhookEvent.provider == "stripe", WebhookEvent.event_id == event_id)
    )


def _subscribe(fake, church, plan="growth"):
    customer = f"cus_test_{church.id}_{time.time_ns()}"
    fake.customers[customer] = {"id": customer, "object": "customer", "email": "admin@example.org"}
    return fake.create_subscription(customer, fake.price_ids[plan], {"church_id": str(church.id)})


def test_bad_signature_is_400_and_stores_nothing(db, fake_stripe, post_event, church):
    sub = _subscribe(fake_stripe, church)
    event = fake_stripe.event("customer.subscription.created", sub)
    body = json.dumps(event).encode()
    response = post_event(event, signature=fake_stripe.sign(body, secret="whsec_wrong"))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_signature"
    assert _stored(db, event["id"]) == 0
    stale = post_event(event, signature=fake_stripe.sign(body, timestamp=int(time.time()) - 3600))
    assert stale.status_code == 400


def test_subscription_created_sets_plan_period_end_from_items(db, fake_stripe, post_event, church):
    sub = _subscribe(fake_stripe, church, "growth")
    response = post_event(fake_stripe.event("customer.subscription.created", sub))
    assert response.status_code == 200 and response.get_json()["status"] == "applied"
    row = db.session.scalar(select(Subscription).where(Subscription.church_id == church.id))
    assert (row.status, row.plan, row.stripe_subscription_id) == ("active", "growth", sub["id"])
    assert int(row.current_period_end.timestamp()) == sub["items"]["data"][0]["current_period_end"]
    db.session.refresh(church)
    assert church.plan == "growth" and church.stripe_customer_id == sub["customer"]


def test_duplicate_event_is_a_200_no_op(db, fake_stripe, post_event, church):
    sub = _subscribe(fake_stripe, church)
    event = fake_stripe.event("customer.subscription.created", sub)
    assert post_event(event).get_json()["status"] == "applied"
    fetches = len(fake_stripe.requests)
    again = post_event(event)
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    assert _stored(db, event["id"]) == 1
    assert len(fake_stripe.requests) == fetches  # nothing applied the second time


def test_updated_before_created_and_old_event_after_new_state(db, fake_stripe, post_event, church):
    sub = _subscribe(fake_stripe, church, "starter")
    created = fake_stripe.event("customer.subscription.created", sub)
    upgraded = fake_stripe.update_subscription(sub["id"], price=fake_stripe.price_ids["ministry"])
    updated = fake_stripe.event("customer.subscription.updated", upgraded)

    assert post_event(updated).status_code == 200  # arrives first
    assert post_event(created).status_code == 200  # the older event, carrying the starter price
    row = db.session.scalar(select(Subscription).where(Subscription.church_id == church.id))
    assert row.plan == "ministry"  # the API fetch wins over the stale payload
    db.session.refresh(church)
    assert church.plan == "ministry"

    fake_stripe.update_subscription(sub["id"], cancel_at_period_end=True)
    old = fake_stripe.event("customer.subscription.updated", {**upgraded, "cancel_at_period_end": False})
    post_event(old)
    db.session.refresh(row)
    assert row.cancel_at_period_end is True


def test_checkout_completed_links_the_church(db, fake_stripe, post_event, church, client, login_as):
    login_as("owner")
    response = client.post("/billing/checkout", data={"plan": "growth", "form_key": "k1"})
    assert response.status_code == 303 and response.location.startswith(fake_stripe.api_base + "/checkout/")
    session_id = response.location.rsplit("/", 1)[1]
    method, path, params = fake_stripe.requests[-1]
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert params["client_reference_id"] == str(church.id)
    assert params["line_items"][0]["price"] == fake_stripe.price_ids["growth"]
    # The same form submitted twice is one Checkout session (idempotency key).
    again = client.post("/billing/checkout", data={"plan": "growth", "form_key": "k1"})
    assert again.location == response.location

    fake_stripe.webhook_url = None
    session = fake_stripe.complete_checkout(session_id)
    result = post_event(fake_stripe.event("checkout.session.completed", fake_stripe._public(session)))
    assert result.get_json()["status"] == "applied"
    db.session.refresh(church)
    assert church.plan == "growth" and church.stripe_customer_id == session["customer"]

    page = client.get("/billing").get_data(as_text=True)
    assert "Growth" in page and "Renews" in page


def test_deleted_subscription_falls_back_to_starter(db, fake_stripe, post_event, church):
    sub = _subscribe(fake_stripe, church, "ministry")
    post_event(fake_stripe.event("customer.subscription.created", sub))
    ended = fake_stripe.update_subscription(sub["id"], status="canceled", canceled_at=int(time.time()))
    post_event(fake_stripe.event("customer.subscription.deleted", ended))
    row = db.session.scalar(select(Subscription).where(Subscription.church_id == church.id))
    db.session.refresh(church)
    assert row.status == "canceled" and church.plan == "starter"


def test_invoice_payment_failed_marks_past_due(db, fake_stripe, post_event, church):
    sub = _subscribe(fake_stripe, church, "growth")
    post_event(fake_stripe.event("customer.subscription.created", sub))
    overdue = fake_stripe.update_subscription(sub["id"], status="past_due")
    response = post_event(fake_stripe.event("invoice.payment_failed", fake_stripe.invoice(overdue, "open")))
    assert response.get_json()["status"] == "applied"
    row = db.session.scalar(select(Subscription).where(Subscription.church_id == church.id))
    assert row.status == "past_due" and row.past_due_since is not None
    db.session.refresh(church)
    assert church.plan == "growth"  # the plan stays in force during the grace period

    fake_stripe.update_subscription(sub["id"], status="active")
    paid = fake_stripe.invoice(fake_stripe.subscriptions[sub["id"]])
    post_event(fake_stripe.event("invoice.paid", paid))
    db.session.refresh(row)
    assert row.status == "active" and row.past_due_since is None


def test_unhandled_event_types_are_stored_and_ignored(db, fake_stripe, post_event):
    event = fake_stripe.event("customer.created", {"id": "cus_x", "object": "customer"})
    assert post_event(event).get_json()["status"] == "ignored"
    assert _stored(db, event["id"]) == 1


def test_changing_plan_of_a_live_subscription_goes_through_the_portal(
    db, fake_stripe, post_event, church, client, login_as
):
    login_as("owner")
    sub = _subscribe(fake_stripe, church, "growth")
    post_event(fake_stripe.event("customer.subscription.created", sub))
    response = client.post("/billing/checkout", data={"plan": "ministry", "form_key": "k2"})
    assert response.status_code == 303 and response.location.startswith(fake_stripe.api_base + "/portal/")
    method, path, params = fake_stripe.requests[-1]
    assert (method, path) == ("POST", "/v1/billing_portal/sessions")
    confirm = params["flow_data"]["subscription_update_confirm"]
    assert confirm["subscription"] == sub["id"]
    assert confirm["items"][0] == {
        "id": sub["items"]["data"][0]["id"],
        "price": fake_stripe.price_ids["ministry"],
        "quantity": "1",
    }

    invoices = client.post("/billing/portal", data={"form_key": "k3"})
    assert invoices.status_code == 303 and "flow_data" not in fake_stripe.requests[-1][2]


def test_an_event_for_a_subscription_stripe_no_longer_has_ends_it_with_a_200(db, fake_stripe, post_event, church):
    sub = _subscribe(fake_stripe, church, "growth")
    assert post_event(fake_stripe.event("customer.subscription.created", sub)).get_json()["status"] == "applied"
    del fake_stripe.subscriptions[sub["id"]]  # deleted with its customer, say
    response = post_event(fake_stripe.event("customer.subscription.deleted", {**sub, "status": "canceled"}))
    assert response.status_code == 200 and response.get_json()["status"] == "subscription gone"
    row = db.session.scalar(select(Subscription).where(Subscription.church_id == church.id))
    assert row.status == "canceled"
    db.session.refresh(church)
    assert church.plan == "starter"


def test_a_missing_subscription_that_is_not_the_churchs_changes_nothing(db, fake_stripe, post_event, church):
    sub = _subscribe(fake_stripe, church, "growth")
    post_event(fake_stripe.event("customer.subscription.created", sub))
    stray = {**sub, "id": "sub_never_seen"}
    event = fake_stripe.event("customer.subscription.updated", stray)
    response = post_event(event)
    assert response.status_code == 200 and response.get_json()["status"] == "subscription gone"
    assert _stored(db, event["id"]) == 1  # answered and kept: a retry is a duplicate
    row = db.session.scalar(select(Subscription).where(Subscription.church_id == church.id))
    assert (row.status, row.stripe_subscription_id) == ("active", sub["id"])


def test_a_signed_body_that_is_json_but_not_an_event_is_a_400(db, fake_stripe, client):
    for body in (b"[]", b"[1, 2]", b'"evt"', b"null", b"\xed\xa0\x80"):
        response = client.post(
            "/webhooks/stripe",
            data=body,
            headers={"Stripe-Signature": fake_stripe.sign(body), "Content-Type": "application/json"},
        )
        assert response.status_code == 400, body
        assert response.get_json()["error"]["code"] == "invalid_payload"
