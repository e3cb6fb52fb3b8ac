"""Tick "Track links", send, follow a recipient's short link in the browser, see the click counted."""

import re

import psycopg
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148"


def test_a_tracked_link_redirects_and_its_click_shows_on_the_broadcast(page, base_url, sign_in, e2e_env):
    url = e2e_env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "UPDATE churches SET quiet_hours_start = NULL, quiet_hours_end = NULL WHERE slug = 'grace-community-church'"
        )
    target = f"{base_url}/health?from=sms"
    sign_in()
    page.goto(f"{base_url}/broadcasts/new")
    page.get_by_label("Youth").check()
    page.get_by_label("Message").fill(f"Grace: details at {target} — see you Friday")
    track = page.get_by_label("Track links")
    expect(track).to_be_visible()
    track.check()
    expect(page.locator("#preview")).to_contain_text(f"{base_url}/l/")
    page.get_by_role("button", name="Review and confirm").click()
    page.locator("#send-button").click()
    expect(page.locator("#link-clicks")).to_contain_text(target)
    broadcast_page = page.url
    broadcast_id = int(re.search(r"/broadcasts/(\d+)", broadcast_page).group(1))
    with psycopg.connect(url, autocommit=True) as conn:
        code = conn.execute(
            "SELECT c.code FROM link_codes c JOIN tracked_links l ON l.id = c.link_id "
            "WHERE l.broadcast_id = %s ORDER BY c.recipient_id LIMIT 1",
            (broadcast_id,),
        ).fetchone()[0]
    # A phone's browser (headless Chromium's own User-Agent is counted with the bots).
    phone = page.context.browser.new_context(user_agent=IPHONE)
    tap = phone.new_page()
    tap.goto(f"{base_url}/l/{code}")
    assert tap.url == target
    phone.close()
    # The worker's periodic drain adds the click (every 10 s).
    page.goto(broadcast_page)
    row = page.locator("#link-clicks tbody tr").first
    for _ in range(30):
        if row.locator("td").nth(1).inner_text() == "1":
            break
        page.wait_for_timeout(1000)
        page.reload()
    expect(row.locator("td").nth(1)).to_have_text("1")
    expect(row.locator("td").nth(2)).to_have_text("1")
