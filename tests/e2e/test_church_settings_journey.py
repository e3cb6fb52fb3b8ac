"""Settings → Church in the browser: a mistake shows by its field, then the save goes through."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
# Screenshots of this page go to a scratch folder, not docs/screenshots.
SHOTS = Path(os.environ.get("CHURCH_SETTINGS_SHOTS", "/tmp/koinonia-church-settings"))


def test_owner_fixes_quiet_hours_and_saves(page, base_url, sign_in):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in()
    page.goto(f"{base_url}/settings")
    page.screenshot(path=str(SHOTS / "settings-index.png"), full_page=True)
    page.get_by_role("link", name="Edit church settings").click()
    expect(page.get_by_role("heading", name="Church settings")).to_be_visible()
    expect(page.get_by_label("Time zone")).to_have_value("America/Chicago")
    # Other journeys on this server may have lifted quiet hours: start from them on, 21:00-08:00.
    page.get_by_label("Hold broadcasts during quiet hours").check()
    start, end = page.get_by_label("Quiet from"), page.get_by_label("Until")
    start.fill("21:00")
    page.screenshot(path=str(SHOTS / "church.png"), full_page=True)

    end.fill("21:00")
    page.get_by_role("button", name="Save church settings").click()
    expect(page.locator("#quiet_hours_end-error")).to_contain_text("different time")
    expect(end).to_have_value("21:00")
    expect(page.get_by_label("Hold broadcasts during quiet hours")).to_be_checked()
    page.screenshot(path=str(SHOTS / "church-error.png"), full_page=True)

    end.fill("08:00")
    page.get_by_role("button", name="Save church settings").click()
    expect(page.get_by_text("Church settings saved.")).to_be_visible()
    expect(page.get_by_label("Hold broadcasts during quiet hours")).to_be_checked()
    expect(page.get_by_label("Until")).to_have_value("08:00")
