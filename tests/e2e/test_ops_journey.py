"""Ops journey: an owner reads the sending status and replays a dead letter from the browser."""

from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_owner_sees_ops_and_replays_a_dead_letter(page, base_url, sign_in, e2e_env):
    url = e2e_env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        church_id = conn.execute("SELECT id FROM churches WHERE slug = 'grace-community-church'").fetchone()[0]
        conn.execute(
            "INSERT INTO dead_letters (church_id, kind, payload, error, attempts) VALUES "
            '(%s, \'webhook_event\', \'{"webhook_event_id": 0, "event_type": "message.finalized"}\', '
            "'Parked after 9 tries: unknown message id', 9)",
            (church_id,),
        )
    sign_in()
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(f"{base_url}/ops")
    expect(page.get_by_role("heading", name="Operations")).to_be_visible()
    expect(page.get_by_text("Texting provider")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "ops-status.png"), full_page=True)
    page.get_by_role("link", name="Dead letters").first.click()
    expect(page.get_by_text("Parked after 9 tries")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "ops-dead-letters.png"), full_page=True)
    page.get_by_role("button", name="Replay").first.click()
    expect(page.get_by_text("The event will be processed again.")).to_be_visible()
    expect(page.get_by_text("Replayed").first).to_be_visible()
