"""A leader answers a member in the inbox: live arrival, canned reply, delivery, keyboard close."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHURCH_NUMBER = "+13125550100"


def _sql(e2e_env, query: str, params: tuple = ()):
    url = e2e_env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query, params or None)
        return cursor.fetchone() if cursor.description else None


@pytest.fixture
def youth_phone(e2e_env) -> str:
    """A Youth member's number (the demo leader leads Youth), with a canned reply on file."""
    _sql(
        e2e_env,
        "INSERT INTO templates (church_id, name, body) SELECT id, 'See you tonight', "
        "'Hi {first_name|friend}, yes! 7pm in the fellowship hall. See you tonight!' FROM churches "
        "WHERE slug = 'grace-community-church' AND NOT EXISTS (SELECT 1 FROM templates WHERE name = 'See you tonight')",
    )
    (phone,) = _sql(
        e2e_env,
        "SELECT m.phone_e164 FROM members m JOIN group_members gm ON gm.member_id = m.id "
        "JOIN groups g ON g.id = gm.group_id AND g.name = 'Youth' "
        "WHERE m.opted_out_at IS NULL AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.member_id = m.id) "
        "ORDER BY m.id DESC LIMIT 1",
    )
    return phone


def test_leader_answers_a_live_reply_and_closes_it_by_keyboard(page, base_url, sign_in, simulator, youth_phone):
    page.set_viewport_size({"width": 1280, "height": 860})
    sign_in("leader@example.org")
    page.goto(f"{base_url}/inbox")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    page.evaluate("window.__noReload = true")

    simulator.inbound(youth_phone, CHURCH_NUMBER, "Is youth group on tonight? Can I bring a friend?")
    row = page.locator(".conv-row", has_text="Is youth group on tonight?")
    # The poll runs every 2 s; the webhook goes through the processor on the worker first.
    expect(row).to_be_visible(timeout=6000)
    assert page.evaluate("window.__noReload") is True, "the page reloaded"
    expect(row.locator(".unread-dot")).to_be_visible()

    row.click()
    expect(page.locator("#messages")).to_contain_text("Can I bring a friend?")
    page.locator("select[name=template_id]").select_option(label="See you tonight")
    reply = page.locator("#reply-body")
    expect(reply).to_have_value(re.compile("7pm in the fellowship hall"))
    expect(page.locator("#reply-counter")).to_contain_text("1 segment")
    page.get_by_role("button", name="Send").click()

    sent = page.locator(".msg.out", has_text="7pm in the fellowship hall").last
    expect(sent).to_be_visible()
    expect(sent.locator(".msg-status")).to_have_text("Delivered", timeout=15000)
    assert page.evaluate("window.__noReload") is True, "the page reloaded"
    assert any(m["to"] == youth_phone and "fellowship hall" in m["text"] for m in simulator.messages(to=youth_phone))

    page.locator("#messages").focus()
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "inbox-shortcuts.png"))
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()

    page.locator("#messages").focus()
    page.keyboard.press("e")
    expect(page.locator("#thread-header")).to_contain_text("Closed")
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "inbox.png"))


def test_inbox_on_a_phone_shows_one_pane(page, base_url, sign_in):
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in("admin@example.org")
    page.goto(f"{base_url}/inbox")
    first = page.locator(".conv-row").first
    expect(first).to_be_visible()
    expect(page.locator("#thread")).to_be_hidden()
    first.click()
    expect(page.locator("#messages")).to_be_visible()
    expect(page.locator("#inbox-list")).to_be_hidden()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "inbox-phone.png"))


def test_list_scrolls_to_older_conversations_and_thread_to_older_messages(page, base_url, sign_in, e2e_env):
    _sql(
        e2e_env,
        "INSERT INTO members (church_id, first_name, last_name, phone_e164) "
        "SELECT c.id, 'Scroll', 'Person ' || i, '+1708555' || lpad(i::text, 4, '0') "
        "FROM churches c, generate_series(1, 80) i WHERE c.slug = 'grace-community-church' "
        "ON CONFLICT DO NOTHING",
    )
    _sql(
        e2e_env,
        "INSERT INTO conversations (church_id, member_id, phone_number_id, last_message_at, last_message_preview) "
        "SELECT m.church_id, m.id, p.id, now() - interval '30 days' - (m.id % 1000) * interval '1 minute', "
        "'Scroll test' "
        "FROM members m JOIN phone_numbers p ON p.e164 = '+13125550100' WHERE m.phone_e164 LIKE '+1708555%' "
        "ON CONFLICT DO NOTHING",
    )
    _sql(
        e2e_env,
        "INSERT INTO conversation_messages (church_id, conversation_id, direction, body, status, created_at) "
        "SELECT c.church_id, c.id, 'in', 'History ' || lpad(g::text, 2, '0'), 'received', "
        "c.last_message_at - (70 - g) * interval '1 minute' "
        "FROM conversations c JOIN members m ON m.id = c.member_id, generate_series(1, 70) g "
        "WHERE m.phone_e164 = '+17085550001' AND NOT EXISTS "
        "(SELECT 1 FROM conversation_messages x WHERE x.conversation_id = c.id)",
    )
    sign_in("admin@example.org")
    page.set_viewport_size({"width": 1280, "height": 860})
    page.goto(f"{base_url}/inbox")
    rows = page.locator(".conv-row")
    expect(rows).to_have_count(50)
    page.locator(".conv-more").scroll_into_view_if_needed()
    expect(rows.nth(60)).to_be_attached()

    page.goto(f"{base_url}/inbox?q=Person+1")
    page.locator(".conv-row", has_text="Scroll Person 1").first.click()
    messages = page.locator("#messages")
    expect(messages).to_contain_text("History 70")
    expect(messages).not_to_contain_text("History 30")
    to_top = "el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }"
    messages.evaluate(to_top)
    expect(messages).to_contain_text("History 30")
    expect(messages).not_to_contain_text("History 05")
    messages.evaluate(to_top)
    expect(messages).to_contain_text("History 05")
    expect(page.locator("#load-older")).to_have_count(0)
