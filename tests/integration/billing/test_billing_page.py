"""/billing for owners only, plans without Stripe, allowance and past-due banners and blocking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.billing import allowance
from app.models import Subscription
from app.usage import record_usage


@pytest.mark.parametrize("role", ["leader", "admin"])
def test_only_owners_open_billing(client, login_as, church, role):
    if role == "admin":
        from tests.factories import UserFactory

        UserFactory(church_id=church.id, role="admin", email="office@example.org")
        login_as("office@example.org")
    else:
        login_as(role)
    assert client.get("/billing").status_code == 403
    assert client.post("/billing/checkout", data={"plan": "growth"}).status_code == 403
    assert client.post("/billing/portal").status_code == 403


def test_without_stripe_keys_plans_still_apply(app, client, login_as, church):
    assert not app.config.get("STRIPE_SECRET_KEY")
    login_as("owner")
    page = client.get("/billing").get_data(as_text=True)
    assert "Online payments are not switched on" in page
    assert "STRIPE_" not in page  # speaks to the church's admin, not to whoever deploys it
    assert "Starter" in page and "1,000" in page and 'class="meter' in page
    response = client.post("/billing/checkout", data={"plan": "growth"}, follow_redirects=True)
    assert "Online payments are not switched on" in response.get_data(as_text=True)


@pytest.mark.usefixtures("no_demo_history")
def test_usage_meter_and_plans_with_stripe(fake_stripe, client, login_as, church):
    login_as("owner")
    record_usage(church.id, 250)
    page = client.get("/billing")
    body = page.get_data(as_text=True)
    assert "Online payments are not switched on" not in body
    assert "250" in body and "w-25" in body and "Subscribe to Growth" in body
    assert fake_stripe.api_base in page.headers["Content-Security-Policy"]  # the form may redirect there


@pytest.mark.usefixtures("no_demo_history")
@pytest.mark.parametrize(
    ("used", "expected", "absent"),
    [(500, None, "segments are used"), (800, "80% of this month", "used up"), (1000, "are used up", "80%")],
)
def test_allowance_banners_for_owners(db, client, login_as, church, used, expected, absent):
    record_usage(church.id, used)
    login_as("owner")
    page = client.get("/").get_data(as_text=True)
    if expected:
        assert expected in page and 'class="banner banner-' in page
    assert absent not in page


def test_leaders_see_no_billing_banners(db, client, login_as, church):
    record_usage(church.id, 1000)
    login_as("leader")
    assert 'class="banner' not in client.get("/").get_data(as_text=True)


def test_over_allowance_reason_points_to_billing(church):
    result = allowance.check(church, 5000)
    assert not result.ok and "/billing" in result.reason


def test_past_due_banner_then_blocked_after_grace(db, client, login_as, church):
    now = datetime.now(UTC)
    db.session.add(Subscription(church_id=church.id, status="past_due", plan="growth", past_due_since=now))
    db.session.flush()
    login_as("owner")
    page = client.get("/").get_data(as_text=True)
    assert "last payment failed" in page
    assert allowance.sending_blocked_reason(church) is None

    later = now + timedelta(days=allowance.PAST_DUE_GRACE_DAYS, hours=1)
    reason = allowance.sending_blocked_reason(church, later)
    assert reason and "paused" in reason and "/billing" in reason
    sub = db.session.query(Subscription).filter_by(church_id=church.id).one()
    sub.past_due_since = now - timedelta(days=8)
    db.session.commit()  # what the Stripe webhook's transaction does: the cached banners move with it
    page = client.get("/").get_data(as_text=True)
    assert "new broadcasts are paused" in page and "banner-danger" in page
