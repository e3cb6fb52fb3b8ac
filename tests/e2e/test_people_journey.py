"""Browser journey: add a member by hand, find them by four digits, add them to Youth in bulk."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_create_find_and_group_a_member(page, base_url, sign_in):
    sign_in()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base_url}/members/new")
    page.get_by_label("First name").fill("Abena")
    page.get_by_label("Last name").fill("Quartey")
    phone = page.get_by_label("Mobile phone")
    phone.fill("(312) 555-0142")
    phone.blur()
    # The inline check (the same form class as the submit) says how the number will be stored.
    expect(page.locator("#phone-field")).to_contain_text("Will be saved as (312) 555-0142")
    page.get_by_label("Email").fill("abena@example.org")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("heading", name="Abena Quartey")).to_be_visible()
    expect(page.get_by_text("Abena Quartey was added.")).to_be_visible()
    expect(page.locator("#consent-title")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "member.png"), full_page=True)

    page.goto(f"{base_url}/members")
    page.get_by_label("Search members").press_sequentially("0142", delay=40)
    expect(page).to_have_url(f"{base_url}/members?q=0142")
    rows = page.locator("#member-rows tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Abena Quartey")
    expect(page.locator("#member-count")).to_contain_text("1 member matches")

    expect(page.locator("#bulk-bar")).to_be_hidden()
    page.get_by_label("Select Abena Quartey").check()
    expect(page.locator("#bulk-bar")).to_be_visible()
    expect(page.locator("[data-selected-count]")).to_have_text("1")
    page.locator("#bulk-group").select_option(label="Youth")
    page.get_by_role("button", name="Add to group").click()
    expect(page.get_by_text("Added 1 member to Youth.")).to_be_visible()
    expect(page.locator("#member-rows tr").first).to_contain_text("Youth")

    # Clearing the search brings everyone back, and the address bar follows (hx-push-url).
    page.get_by_label("Search members").fill("")
    expect(page).to_have_url(f"{base_url}/members")
    expect(page.locator("#member-rows tr").nth(20)).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "members.png"), full_page=False)


def test_infinite_scroll_loads_the_next_page(page, base_url, sign_in):
    sign_in()
    page.goto(f"{base_url}/members")
    rows = page.locator("#member-rows tr:not(.load-more)")
    expect(rows).to_have_count(50)
    page.locator("tr.load-more").scroll_into_view_if_needed()
    expect(rows).not_to_have_count(50)
