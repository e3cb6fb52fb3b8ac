"""Plan and subscription changes from Stripe land on the church's audit log."""

from __future__ import annotations

import time

from sqlalchemy import select

from app.models import AuditLog


def _events(db, church, action):
    stmt = select(AuditLog).where(AuditLog.church_id == church.id, AuditLog.action == action).order_by(AuditLog.id)
    return list(db.session.scalars(stmt))


def test_a_plan_change_from_stripe_is_recorded(db, fake_stripe, post_event, church):
    customer = f"cus_audit_{church.id}_{time.time_ns()}"
    fake_stripe.customers[customer] = {"id": customer, "object": "customer", "email": "admin@example.org"}
    sub = fake_stripe.create_subscription(customer, fake_stripe.price_ids["growth"], {"church_id": str(church.id)})
    assert post_event(fake_stripe.event("customer.subscription.created", sub)).status_code == 200
    [event] = _events(db, church, "billing.changed")
    assert event.user_id is None and event.detail["plan"] == ["starter", "growth"]
    assert event.detail["source"] == "stripe"
    # The same state again changes nothing, so records nothing.
    post_event(fake_stripe.event("customer.subscription.updated", sub))
    assert len(_events(db, church, "billing.changed")) == 1
