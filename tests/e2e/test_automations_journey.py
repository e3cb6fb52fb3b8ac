"""Automations in the browser: a welcome series is written, a mistake shows by its field, then it saves and pauses."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_owner_writes_a_welcome_series_and_pauses_it(page, base_url, sign_in):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Automations").click()
    page.get_by_role("link", name="New automation").click()
    page.get_by_label("Name").fill("Guest welcome")
    page.get_by_label("Trigger").select_option("connect_card")
    page.locator("#steps-0-body").fill("Hi {firstname}, glad you came!")
    page.locator("#steps-1-wait_amount").fill("2")
    page.locator("#steps-1-wait_unit").select_option("days")
    page.get_by_role("button", name="Add a step").click()
    expect(page.locator("#steps-2-kind")).to_be_visible()
    page.locator("#steps-2-body").fill("Coffee this week, {first_name|friend}?")
    page.get_by_role("button", name="Save automation").click()

    expect(page.locator("#steps-0-body-error")).to_contain_text("{firstname} is not a merge field")
    expect(page.get_by_label("Name")).to_have_value("Guest welcome")
    page.locator("#steps-0-body").fill("Hi {first_name|friend}, glad you came!")
    page.get_by_role("button", name="Save automation").click()

    expect(page.get_by_text("Automation Guest welcome saved.")).to_be_visible()
    expect(page.get_by_role("cell", name="Wait: 2 days")).to_be_visible()
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_text("Automation Guest welcome paused.")).to_be_visible()
    expect(page.get_by_role("button", name="Resume")).to_be_visible()
