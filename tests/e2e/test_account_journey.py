"""A church signs up from the mailed link, then its owner forgets the password and resets it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
EMAIL = "pastor@cornerstone.example"
PASSWORD = "living stones built up"
NEW_PASSWORD = "a spiritual house anew"


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _link(mail_sink, path: str, count: int) -> str:
    mails = mail_sink.wait_for(EMAIL, count=count, timeout=20)
    assert len(mails) >= count, f"expected {count} mails for {EMAIL}, got {len(mails)}"
    found = re.findall(r"https?://\S+" + re.escape(path) + r"\S+", mails[count - 1]["text"])
    assert found, mails[count - 1]["text"]
    return found[0]


def test_sign_up_verify_then_reset_the_password(page, base_url, mail_sink):
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(f"{base_url}/signup")
    page.get_by_label("Church name").fill("Cornerstone Church")
    # The browser's time zone was preselected by signup.js; people may still change it.
    expect(page.get_by_label("Time zone")).not_to_have_value("")
    page.get_by_label("Time zone").select_option("America/Denver")
    page.get_by_label("Your name").fill("Paula Pastor")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("password")  # too short: refused by the field
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#password-error")).to_contain_text("at least 10")
    expect(page.get_by_label("Church name")).to_have_value("Cornerstone Church")
    page.get_by_label("Password").fill(PASSWORD)
    _shot(page, "signup")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Confirm your email")).to_be_visible()

    page.goto(_link(mail_sink, "/signup/verify/", 1))
    expect(page.get_by_role("heading", name="Cornerstone Church", exact=True)).to_be_visible()
    expect(page.get_by_text("free trial of the Starter plan")).to_be_visible()
    checklist = page.locator(".onboarding")
    expect(checklist).to_contain_text("Get a sending number")
    expect(checklist.locator("#onboarding-verify")).to_have_attribute("data-done", "true")
    expect(checklist.get_by_role("link", name="Invite your staff")).to_have_attribute("href", "/settings/staff")
    _shot(page, "onboarding-checklist")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Forgotten your password?").click()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Mail me a link").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    _shot(page, "password-forgot-sent")

    reset = _link(mail_sink, "/password/reset/", 2)
    page.goto(reset)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Type it again").fill(NEW_PASSWORD)
    _shot(page, "password-reset")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.get_by_text("Your password has been changed")).to_be_visible()

    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Cornerstone Church", exact=True)).to_be_visible()

    page.goto(reset)  # the link worked once
    expect(page.get_by_role("heading", name="This link no longer works")).to_be_visible()
    expect(page.locator('input[type="password"]')).to_have_count(0)
