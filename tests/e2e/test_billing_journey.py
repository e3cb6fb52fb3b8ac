"""The owner subscribes through (fake) Stripe Checkout, sees the plan and usage; leaders cannot bill;
a broadcast over the allowance is refused with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

RECENT = [
    ("Sunday service moves to 10:30 this week: coffee and donuts from 10! See you there.", 4, 58, 56, 1),
    ("Youth lock-in Friday 7pm: bring a sleeping bag and a friend. Reply YES to save a spot.", 2, 21, 20, 0),
    ("Thank you for serving at the food drive! 312 families fed this weekend.", 6, 34, 33, 1),
]


@pytest.fixture(scope="module")
def e2e_db(e2e_env):
    engine = create_engine(e2e_env["DATABASE_URL"])
    yield engine
    engine.dispose()


def _grace(conn) -> int:
    return conn.execute(text("SELECT id FROM churches WHERE slug = 'grace-community-church'")).scalar_one()


def _demo_activity(engine) -> None:
    """Recent broadcasts, something scheduled and answered conversations, for a dashboard worth a look."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        church = _grace(conn)
        if conn.execute(text("SELECT count(*) FROM broadcasts WHERE body = :b"), {"b": RECENT[0][0]}).scalar():
            return
        for body, days_ago, total, delivered, failed in RECENT:
            at = now - timedelta(days=days_ago, hours=3)
            conn.execute(
                text(
                    "INSERT INTO broadcasts (church_id, body, status, created_at, started_at, completed_at, "
                    "recipient_count, sent_count, delivered_count, failed_count) "
                    "VALUES (:c, :b, 'sent', :at, :at, :at, :n, :n, :d, :f)"
                ),
                {"c": church, "b": body, "at": at, "n": total, "d": delivered, "f": failed},
            )
        conn.execute(
            text(
                "INSERT INTO broadcasts (church_id, body, status, scheduled_at, created_at) "
                "VALUES (:c, 'Easter brunch sign-ups close Friday: reply with how many are coming.', "
                "'scheduled', :at, now())"
            ),
            {"c": church, "at": now + timedelta(days=3, hours=2)},
        )
        conn.execute(
            text(
                "UPDATE conversations SET first_response_at = created_at + (6 + 7 * (id % 4)) * interval '1 minute', "
                "last_inbound_at = coalesce(last_inbound_at, created_at) WHERE church_id = :c"
            ),
            {"c": church},
        )


def _set_usage(engine, segments: int | None = None) -> int:
    """This month's usage: the month's segments from daily_stats unless given."""
    with engine.begin() as conn:
        church = _grace(conn)
        start = datetime.now(UTC).date().replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
        if segments is None:
            segments = conn.execute(
                text("SELECT coalesce(sum(segments), 0) FROM daily_stats WHERE church_id = :c AND day >= :s"),
                {"c": church, "s": start},
            ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO usage_periods (church_id, period_start, period_end, segments_used) "
                "VALUES (:c, :s, :e, :n) ON CONFLICT (church_id, period_start) DO UPDATE SET segments_used = :n"
            ),
            {"c": church, "s": start, "e": end, "n": segments},
        )
    return segments


def test_owner_subscribes_and_sees_plan_and_usage(page, base_url, sign_in, e2e_db, fake_stripe):
    _demo_activity(e2e_db)
    used = _set_usage(e2e_db)
    sign_in("admin@example.org")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(f"{base_url}/billing")
    expect(page.get_by_role("heading", name="Billing")).to_be_visible()
    expect(page.locator(".meter")).to_have_count(1)
    page.get_by_role("button", name="Subscribe to Growth").click()

    # The fake Checkout page, on the fake Stripe server.
    expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
    assert page.url.startswith(fake_stripe.api_base)
    page.get_by_role("button", name="Pay").click()

    page.wait_for_url(f"{base_url}/billing")
    expect(page.locator(".flash")).to_contain_text("Thank you! The Growth plan is now active.")
    expect(page.locator("#current-plan + .stat-value")).to_have_text("Growth")
    expect(page.get_by_text("Renews")).to_be_visible()
    expect(page.get_by_text(f"{used:,}", exact=False).first).to_be_visible()
    meter = page.locator(".meter[role=meter]")
    expect(meter).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "billing.png"), full_page=True)

    page.goto(f"{base_url}/")
    expect(page.locator("svg[role=img]")).to_have_count(3)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)


def test_leader_gets_403_on_billing(page, base_url, sign_in):
    sign_in("leader@example.org")
    response = page.goto(f"{base_url}/billing")
    assert response is not None and response.status == 403
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Billing")).to_have_count(0)


def test_broadcast_over_the_allowance_is_refused(page, base_url, sign_in, e2e_db):
    with e2e_db.begin() as conn:
        plan = conn.execute(text("SELECT plan FROM churches WHERE slug = 'grace-community-church'")).scalar_one()
    allowance = {"starter": 1000, "growth": 5000, "ministry": 20000}[plan]
    _set_usage(e2e_db, allowance - 5)
    sign_in("admin@example.org")
    page.goto(f"{base_url}/broadcasts/new")
    page.get_by_label("Message").fill("Reminder: church picnic Saturday at noon in Lincoln Park!")
    page.get_by_label("Everyone (all members)").check()
    page.get_by_role("button", name="Review and confirm").click()
    send = page.locator("#send-button")
    if send.count():
        send.click()
    expect(page.get_by_text("segments but only 5", exact=False)).to_be_visible()
    expect(
        page.get_by_role("link", name="See plans and upgrade").or_(page.locator("a[href='/billing']")).first
    ).to_be_visible()
    _set_usage(e2e_db, 0)
