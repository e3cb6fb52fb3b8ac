"""Plan lookup, period ends from subscription items, Stripe form decoding, chart scales."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask

from app.billing.allowance import Allowance
from app.billing.plans import all_plans, get_plan, plan_for_price
from app.billing.services import _period_end, _subscription_id
from app.dashboard.charts import bars_and_line, nice_ceiling
from app.dashboard.services import humanize_seconds
from tests.fakes.stripe_server import unflatten


@pytest.fixture
def app_ctx():
    app = Flask("t")
    app.config["STRIPE_PRICE_IDS"] = {"growth": "price_g", "ministry": "price_m"}
    with app.app_context():
        yield


def test_plans_carry_allowances_and_configured_prices(app_ctx):
    plans = {p.key: p for p in all_plans()}
    assert [plans[k].segments for k in ("starter", "growth", "ministry")] == [1_000, 5_000, 20_000]
    assert plans["growth"].price_id == "price_g" and plans["starter"].price_id is None
    assert plan_for_price("price_m") == "ministry" and plan_for_price("price_other") is None
    assert get_plan("nonsense").key == "starter"


def test_period_end_comes_from_items_on_new_api_versions():
    new = {"items": {"data": [{"current_period_end": 1_800_000_000}, {"current_period_end": 1_800_000_500}]}}
    old = {"current_period_end": 1_700_000_000, "items": {"data": [{}]}}
    assert _period_end(new) == datetime.fromtimestamp(1_800_000_500, UTC)
    assert _period_end(old) == datetime.fromtimestamp(1_700_000_000, UTC)
    assert _period_end({"items": {"data": []}}) is None


def test_invoice_subscription_id_in_old_and_new_shapes():
    new = {"parent": {"subscription_details": {"subscription": "sub_new"}}}
    assert _subscription_id(new, "invoice.paid") == "sub_new"
    assert _subscription_id({"subscription": "sub_old"}, "invoice.payment_failed") == "sub_old"
    assert _subscription_id({"subscription": "sub_c"}, "checkout.session.completed") == "sub_c"


def test_over_allowance_reason_names_the_numbers_and_billing():
    reason = Allowance(allowance=1000, used=990, requested=25).reason
    assert "25 segments" in reason and "only 10" in reason and "/billing" in reason
    assert Allowance(allowance=1000, used=10, requested=25).reason is None


def test_stripe_form_encoding_round_trip():
    pairs = [
        ("line_items[0][price]", "price_g"),
        ("line_items[0][quantity]", "1"),
        ("subscription_data[metadata][church_id]", "7"),
        ("mode", "subscription"),
    ]
    assert unflatten(pairs) == {
        "line_items": [{"price": "price_g", "quantity": "1"}],
        "subscription_data": {"metadata": {"church_id": "7"}},
        "mode": "subscription",
    }


@pytest.mark.parametrize(("value", "top"), [(0, 4), (3, 4), (7, 10), (43, 50), (120, 200), (2400, 2500)])
def test_chart_scale_rounds_up(value, top):
    assert nice_ceiling(value) == top


def test_bars_stay_inside_the_plot():
    from datetime import date, timedelta

    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(30)]
    chart = bars_and_line("c", "T", days, ("series-sent", "Sent", list(range(30))), ("series-delivered", "D", [1] * 30))
    assert all(b.y >= 0 and b.y + b.h <= chart.baseline + 0.1 for b in chart.bars)
    assert chart.lines and chart.lines[0].path.startswith("M")
    assert "Sent per day" in chart.desc and not chart.empty


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "—"), (20, "under 1 min"), (600, "10 min"), (4800, "1 h 20 min"), (183600, "2 d 3 h")]
)
def test_humanize_seconds(seconds, text):
    assert humanize_seconds(seconds) == text
