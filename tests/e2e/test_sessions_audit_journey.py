"""Where you're signed in, and the audit log that records it."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


def test_sign_out_another_device_then_read_it_in_the_audit_log(browser, page, base_url, sign_in):
    phone = browser.new_context(user_agent=PHONE_UA)
    phone_page = phone.new_page()
    phone_page.goto(f"{base_url}/login")
    phone_page.get_by_label("Email").fill("admin@hope.example.org")
    phone_page.get_by_label("Password").fill("koinonia-demo")
    phone_page.get_by_role("button", name="Sign in", exact=True).click()
    expect(phone_page.locator(".user-menu")).to_contain_text("Hope Chapel")

    sign_in("admin@hope.example.org")
    page.goto(f"{base_url}/account/sessions")
    rows = page.locator("#sessions tbody tr")
    expect(rows.filter(has_text="Safari on iPhone")).to_have_count(1)
    expect(rows.filter(has_text="This device")).to_have_count(1)
    page.get_by_role("button", name="Sign out all other sessions").click()
    expect(page.get_by_text("Signed out of")).to_be_visible()
    expect(rows.filter(has_text="Safari on iPhone")).to_have_count(0)

    phone_page.goto(f"{base_url}/")
    expect(phone_page.get_by_role("heading", name="Sign in to Koinonia")).to_be_visible()
    phone.close()

    page.goto(f"{base_url}/settings")
    page.get_by_role("link", name="View the audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(page.locator("#audit-log")).to_contain_text("Signed out other sessions")
    page.locator("#audit-action").select_option("auth.sign_in")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit-log")).not_to_contain_text("Signed out other sessions")
    expect(page.locator("#audit-log")).to_contain_text("Safari on iPhone")
