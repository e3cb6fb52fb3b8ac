"""On a 390×844 phone: the menu button opens the navigation, member rows keep their status, and the
composer shows its count and checks before "Review and confirm"."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_phone_menu_members_and_composer(page, base_url, sign_in):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Groups")).to_be_hidden()
    page.get_by_role("link", name="Menu").click()
    expect(nav.get_by_role("link", name="Groups")).to_be_visible()
    nav.get_by_role("link", name="Members").click()
    expect(nav.get_by_role("link", name="Groups")).to_be_hidden()  # a new page starts with the menu folded
    expect(page.locator("#member-rows tr").first.locator(".badge").first).to_be_in_viewport()

    page.goto(f"{base_url}/broadcasts/new")
    counter = page.locator("#counter").bounding_box()
    button = page.get_by_role("button", name="Review and confirm").bounding_box()
    assert counter["y"] < button["y"]


def test_desktop_shows_the_navigation_without_a_menu_button(page, base_url, sign_in):
    page.set_viewport_size({"width": 1280, "height": 860})
    sign_in()
    expect(page.get_by_role("link", name="Menu")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Ops")).to_be_visible()
