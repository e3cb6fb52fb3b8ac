from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_sign_in_see_dashboard_sign_out(page, base_url, sign_in):
    sign_in()
    expect(page.locator(".user-menu")).to_contain_text("Grace Community Church")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard")).to_have_attribute(
        "aria-current", "page"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 860})
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Koinonia")).to_be_visible()
    expect(page.get_by_text("You have been signed out.")).to_be_visible()


def test_wrong_password_shows_an_error(page, base_url, sign_in):
    sign_in(password="wrong-password")
    expect(page.locator("#password-error")).to_contain_text("do not match")
    expect(page.get_by_label("Email")).to_have_value("admin@example.org")


def test_other_church_cannot_open_grace_pages(page, base_url, sign_in):
    sign_in("admin@hope.example.org")
    expect(page.locator(".user-menu")).to_contain_text("Hope Chapel")
    page.goto(f"{base_url}/members/1")
    expect(page.get_by_role("heading", name="We couldn't find that page")).to_be_visible()
