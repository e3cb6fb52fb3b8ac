"""Compose to Youth, watch the counter and the checks, confirm, send, and see it deliver."""

from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def no_quiet_hours(e2e_env):
    """The journey may run at night in Chicago: lift Grace's quiet hours so the send is not held."""
    url = e2e_env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE churches SET quiet_hours_start = NULL, quiet_hours_end = NULL WHERE slug = 'grace-community-church'"
        )


def test_compose_to_youth_and_watch_it_deliver(page, base_url, sign_in, no_quiet_hours):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 1000})
    sign_in()
    page.goto(f"{base_url}/broadcasts/new")
    expect(page.get_by_role("heading", name="New broadcast")).to_be_visible()

    page.get_by_label("Youth").check()
    expect(page.locator("#audience-count")).to_contain_text("recipients")

    body = page.get_by_label("Message")
    body.fill("Grace: youth night is Friday at 7, {first_name|friend}! Sign up at bit.ly/yn")
    expect(page.locator("#encoding")).to_have_text("GSM-7")
    expect(page.locator("#checks")).to_contain_text("Link shortener")
    expect(page.locator("#preview")).to_contain_text("youth night is Friday at 7,")
    expect(page.locator("#preview")).not_to_contain_text("{first_name")

    body.press("End")
    body.type(" 🙏")
    expect(page.locator("#encoding")).to_have_text("UCS-2")
    expect(page.locator("#ucs2-note")).to_contain_text("🙏")
    page.screenshot(path=str(SCREENSHOTS / "composer.png"), full_page=True)

    page.get_by_role("button", name="Review and confirm").click()
    expect(page.get_by_role("heading", name="Confirm broadcast")).to_be_visible()
    summary = page.locator("#confirm-summary")
    expect(summary).to_contain_text("Youth")
    expect(summary).to_contain_text("UCS-2")
    expect(page.locator(".checks")).to_contain_text("Link shortener")
    page.screenshot(path=str(SCREENSHOTS / "broadcast-confirm.png"), full_page=True)

    page.locator("#send-button").click()
    expect(page.locator("#progress")).to_be_visible()
    expect(page.locator("#delivered-percent")).to_have_text("100% delivered", timeout=60_000)
    expect(page.locator("#progress")).to_contain_text("finished")
    expect(page.locator("#progress")).not_to_have_attribute("hx-trigger", "every 2s")
    page.screenshot(path=str(SCREENSHOTS / "broadcast.png"), full_page=True)

    page.get_by_role("link", name="All broadcasts").click()
    expect(page.locator("#broadcast-rows")).to_contain_text("youth night is Friday")
    expect(page.locator("#broadcast-rows")).to_contain_text("100%")


def test_templates_people_chips_and_smart_quotes(page, base_url, sign_in):
    sign_in()
    page.goto(f"{base_url}/templates/new")
    page.get_by_label("Name").fill("Service reminder")
    page.get_by_label("Message").fill("{church_name}: service at 9 tomorrow, {first_name|friend}.")
    page.get_by_role("button", name="Save template").click()
    expect(page.get_by_role("cell", name="Service reminder")).to_be_visible()

    page.goto(f"{base_url}/broadcasts/new")
    page.get_by_text("Start from a template").click()
    page.locator("a.template-insert", has_text="Service reminder").click()
    expect(page.get_by_label("Message")).to_have_value("{church_name}: service at 9 tomorrow, {first_name|friend}.")
    expect(page.locator("#preview")).to_contain_text("Grace Community Church: service at 9 tomorrow")

    page.get_by_label("Add people").fill("Ruth")
    result = page.locator("#member-results .chip").first
    expect(result).to_be_visible()
    result.locator("input").check()
    expect(page.locator("#member-chips .chip")).to_have_count(1)
    expect(page.locator("#audience-count")).to_contain_text("1 recipient")
    page.get_by_label("Add people").fill("David")
    expect(page.locator("#member-chips .chip")).to_have_count(1)  # the chip survives a new search

    page.get_by_label("Message").fill("Grace: it\u2019s on \u2014 come")
    expect(page.locator("#encoding")).to_have_text("UCS-2")
    page.get_by_role("button", name="Replace smart quotes and dashes").click()
    expect(page.get_by_label("Message")).to_have_value("Grace: it's on - come")
    expect(page.locator("#encoding")).to_have_text("GSM-7")

    expect(page.locator("#repeat-options")).to_be_hidden()
    page.get_by_label("Repeat", exact=True).check()
    expect(page.locator("#repeat-options")).to_be_visible()

    page.get_by_label("Time").fill("09:00")
    page.get_by_label("Sun", exact=True).check()
    page.get_by_label("Until").fill("2027-06-30")
    page.get_by_role("button", name="Review and confirm").click()
    expect(page.locator("#confirm-summary")).to_contain_text("Weekly on Sun at 9:00 AM until Jun 30, 2027")
    page.get_by_role("button", name="Save repeating broadcast").click()
    expect(page.locator("#repeating")).to_contain_text("Weekly on Sun at 9:00 AM")
    expect(page.locator("#repeating")).to_contain_text("9:00 AM")
    page.screenshot(path=str(SCREENSHOTS / "broadcasts-list.png"), full_page=True)


def test_failed_recipient_shows_the_carrier_error(page, base_url, sign_in, simulator, no_quiet_hours):
    simulator.add_fault("+13125551002", "delivery_failed", carrier_code="30007")
    sign_in()
    page.goto(f"{base_url}/broadcasts/new")
    page.get_by_label("Message").fill("Grace: are you coming to the retreat?")
    page.get_by_label("Add people").fill("5551002")
    page.locator("#member-results .chip input").first.check()
    expect(page.locator("#audience-count")).to_contain_text("1 recipient")
    page.get_by_role("button", name="Review and confirm").click()
    page.locator("#send-button").click()
    expect(page.locator("#status-counts")).to_contain_text("Failed 1", timeout=60_000)
    page.reload()
    expect(page.locator("#failed-table")).to_contain_text("30007")
    expect(page.locator("#failed-table")).to_contain_text("(312) 555-1002")
