"""A guest fills the connect card on a phone with JavaScript off, replies YES, and is welcomed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "connect-card"
CHURCH_NUMBER = "+13125550100"
GUEST = "+13125550166"


def _texts(simulator, phone: str, at_least: int, timeout: float = 15) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        texts = [m["text"] for m in simulator.messages(to=phone)]
        if len(texts) >= at_least or time.monotonic() > deadline:
            return texts
        time.sleep(0.2)


def test_a_guest_signs_up_on_a_phone_and_replies_yes(page, browser, base_url, sign_in, simulator):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in("admin@example.org")
    page.goto(f"{base_url}/settings/connect-card")
    page.get_by_label("The card is open").check()
    page.get_by_label("Welcome text").fill("We're so glad you joined us this Sunday. Tell us a little about you!")
    page.get_by_label("Question 1").fill("How did you hear about us?")
    page.get_by_label("Youth").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Connect card saved.")).to_be_visible()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False, is_mobile=True)
    card = phone.new_page()
    card.goto(f"{base_url}/c/grace-community-church")
    expect(card.get_by_text("Msg & data rates may apply")).to_be_visible()
    card.get_by_label("First name").fill("Lydia")
    card.get_by_label("Mobile phone").fill("312 555")
    card.get_by_role("button", name="Send").click()
    expect(card.get_by_text("wrong number of digits")).to_be_visible()
    assert card.get_by_label("First name").input_value() == "Lydia"  # kept after the error

    card.get_by_label("Last name").fill("Thyatira")
    card.get_by_label("Mobile phone").fill("(312) 555-0166")
    card.get_by_label("How did you hear about us?").fill("A friend")
    card.get_by_label("Youth").check()
    card.locator("input[name=consent]").check()
    card.get_by_role("button", name="Send").click()
    expect(card.get_by_role("heading", name="Thank you!")).to_be_visible()
    card.screenshot(path=str(SCREENSHOTS / "e2e-thanks-phone.png"), full_page=True)

    [asking] = _texts(simulator, GUEST, 1)
    assert "Reply YES to get texts from Grace Community Church" in asking
    simulator.inbound(GUEST, CHURCH_NUMBER, "Yes!")
    texts = _texts(simulator, GUEST, 2)
    assert len(texts) == 2 and "welcome" in texts[1]

    page.goto(f"{base_url}/members?q=Thyatira")
    page.get_by_role("link", name="Lydia Thyatira").first.click()
    expect(page.get_by_text("Connect card, confirmed by replying YES")).to_be_visible()
    phone.close()
