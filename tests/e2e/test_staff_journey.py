"""An owner invites a leader; the leader opens the mailed link in another browser and is signed in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
EMAIL = "miriam.worship@example.org"
PASSWORD = "sing a new song daily"


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _invitation_link(mail_sink) -> str:
    mails = mail_sink.wait_for(EMAIL, timeout=20)
    assert mails, f"no mail for {EMAIL}"
    found = re.findall(r"https?://\S+/invite/\S+", mails[-1]["text"])
    assert found, mails[-1]["text"]
    return found[0]


def test_owner_invites_a_leader_who_accepts_and_is_signed_in(page, browser, base_url, sign_in, mail_sink):
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in()
    page.goto(f"{base_url}/settings")
    page.get_by_role("link", name="Manage staff").click()
    expect(page.get_by_role("heading", name="Staff", exact=True)).to_be_visible()

    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Role", exact=True).select_option("leader")
    page.get_by_label("Worship Team").check()
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text(f"Invitation sent to {EMAIL}")).to_be_visible()
    pending = page.locator("#invitations")
    expect(pending).to_contain_text(EMAIL)
    expect(pending).to_contain_text("Pastor Ade")
    _shot(page, "staff")

    invited = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        leader = invited.new_page()
        link = _invitation_link(mail_sink)
        assert link.startswith(base_url)
        leader.goto(link)
        expect(leader.get_by_role("heading", name="Join Grace Community Church")).to_be_visible()
        leader.get_by_label("Your name").fill("Miriam Worship")
        leader.get_by_label("Password", exact=True).fill(PASSWORD)
        leader.get_by_label("Type it again").fill(PASSWORD)
        _shot(leader, "invite-accept")
        leader.get_by_label("Password", exact=True).fill("short")  # the sign-up rule applies
        leader.get_by_role("button", name="Join Grace Community Church").click()
        expect(leader.locator("#password-error")).to_contain_text("at least 10")
        expect(leader.get_by_label("Your name")).to_have_value("Miriam Worship")
        leader.get_by_label("Password", exact=True).fill(PASSWORD)
        leader.get_by_label("Type it again").fill(PASSWORD)
        leader.get_by_role("button", name="Join Grace Community Church").click()

        expect(leader.get_by_text("Welcome to Grace Community Church on Koinonia!")).to_be_visible()
        expect(leader.get_by_role("link", name=EMAIL)).to_be_visible()
        expect(leader.get_by_role("link", name="Settings")).to_have_count(0)  # a leader
        leader.goto(f"{base_url}/groups")
        expect(leader.get_by_role("link", name="Worship Team")).to_be_visible()

        leader.goto(link)  # the link worked once
        expect(leader.get_by_role("heading", name="This link no longer works")).to_be_visible()
        expect(leader.locator('input[type="password"]')).to_have_count(0)
    finally:
        invited.close()

    page.reload()
    row = page.locator("#staff tr", has_text=EMAIL)
    expect(row).to_contain_text("Leader")
    expect(row).to_contain_text("leads Worship Team")
    expect(page.get_by_text("No invitations waiting")).to_be_visible()
