"""A church admin's engagement tools in Chromium, against a running `make dev`; screenshots of each step.

    SMS_RATES=long_code=40 APP_BASE_URL=http://localhost:8000 make dev
    .venv/bin/python scripts/engagement_walkthrough.py [BASE] [SIMULATOR] [OUT]
    # defaults: http://localhost:8000  http://127.0.0.1:8025  /tmp/engagement

Sets up the connect card and a welcome automation (text, wait a day, text, add to a group); a guest
fills the card on a phone with JavaScript off and replies YES from the simulator; the automation
sends its first text, then its second after the development "+24 hours" button. A broadcast with
a tracked link goes to a group and a recipient's short link is opened on a phone. Then 5,000
members come in by CSV import, a broadcast to everyone is paused while sending and resumed, and
the simulator's record shows every recipient got it exactly once.

The demo church is on the Starter plan (1,000 texts a month); the walkthrough moves it to the
Ministry plan through `scripts/dev.sh run` rather than through Stripe, so run it with make dev's
DEV_PG_PORT and DEV_REDIS_PORT when they are not the defaults.
At the default 10 texts a second per long-code number 5,000 texts take over eight minutes;
SMS_RATES=long_code=40 makes it about two. docs/screenshots/engagement/ holds a run's screenshots.
"""

import csv
import json
import re
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8000"
SIM = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:8025"
OUT = Path(sys.argv[3] if len(sys.argv) > 3 else "/tmp/engagement")
OUT.mkdir(parents=True, exist_ok=True)
ROOT = Path(__file__).resolve().parents[1]
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148"
CHURCH_NUMBER = "+13125550100"
stamp = int(time.time()) % 100000
GUEST = f"+1312555{stamp % 10000:04d}"
MEMBERS = 5000
EXCHANGE = 200 + stamp % 140 * 5  # five exchanges of 1,000 numbers each, new ones on each run


def in_app(code):
    """Run Python in the app's context with make dev's environment (scripts/dev.sh run); its output."""
    prelude = "from wsgi import app\nfrom app.extensions import db\napp.app_context().push()\n"
    cmd = ["scripts/dev.sh", "run", ".venv/bin/python", "-c", prelude + code]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout


def shot(page, name, full=False):
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=full)
    print("shot", name, flush=True)


def sim(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{SIM}{path}", data=data, headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))


def sim_texts(**query):
    qs = "&".join(f"{k}={urllib.request.quote(str(v))}" for k, v in query.items())
    return [m for m in sim(f"/_sim/messages?{qs}")["data"]]


def reload_until(page, check, timeout=90, every=2.0):
    deadline = time.time() + timeout
    while not check():
        if time.time() > deadline:
            raise SystemExit(f"timed out on {page.url}")
        page.wait_for_timeout(every * 1000)
        page.reload()


def sign_in(page, email, password="koinonia-demo"):
    page.goto(f"{BASE}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def step_cell(page, position, column):
    """A cell of the automation report: column 3 is "Ran", 4 is "What it sent"."""
    return page.locator("table tbody tr").nth(position).locator("td").nth(column).inner_text().strip()


def went_out(cell):
    """The report's "What it sent" once the text has left: "1 sent" or "1 delivered", not "1 sending"."""
    return re.search(r"\b1 (sent|delivered)\b", cell) is not None


def count(page, label):
    text = page.locator("#status-counts li", has_text=label).locator("strong").inner_text()
    return int(text.replace(",", ""))


def member_csv(path):
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["First Name", "Last Name", "Mobile", "Email"])
        for i in range(MEMBERS):
            writer.writerow([f"Member{i}", f"Walk{stamp}", f"(773) {EXCHANGE + i // 1000}-{i % 1000:04d}", ""])
    return path


summary = {}
with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, "admin@example.org")
    expect(page.locator(".user-menu")).to_be_visible()

    # 1. The connect card with a question, and an automation started by it.
    page.goto(f"{BASE}/settings/connect-card")
    page.get_by_label("The card is open").check()
    page.get_by_label("Question 1").fill("How did you hear about us?")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Connect card saved.")).to_be_visible()
    shot(page, "01-connect-card-settings")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Automations").click()
    page.get_by_role("link", name="New automation").click()
    name = f"Guest welcome {stamp}"
    page.get_by_label("Name").fill(name)
    page.get_by_label("Trigger").select_option("connect_card")
    page.locator("#steps-0-body").fill("Hi {first_name|friend}, so glad you visited {church_name}!")
    page.locator("#steps-1-wait_amount").fill("1")
    page.locator("#steps-1-wait_unit").select_option("days")
    page.get_by_role("button", name="Add a step").click()
    page.locator("#steps-2-kind").select_option("text")
    page.locator("#steps-2-body").fill("{first_name|friend}, coffee after the service this Sunday?")
    page.get_by_role("button", name="Add a step").click()
    page.locator("#steps-3-kind").select_option("add_group")
    page.locator("#steps-3-group_id").select_option(label="Volunteers")
    page.get_by_role("button", name="Save automation").click()
    expect(page.get_by_text(f"Automation {name} saved.")).to_be_visible()
    automation = page.url
    shot(page, "02-automation-saved")

    # 2. A guest fills the card on a phone with JavaScript off.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False, is_mobile=True)
    card = phone.new_page()
    card.goto(f"{BASE}/c/grace-community-church")
    card.get_by_label("First name").fill("Lydia")
    card.get_by_label("Last name").fill(f"Walk{stamp}")
    card.get_by_label("Mobile phone").fill(GUEST)
    card.get_by_label("How did you hear about us?").fill("A friend from work")
    card.locator("input[name=consent]").check()
    card.get_by_role("button", name="Send").click()
    expect(card.get_by_role("heading", name="Thank you!")).to_be_visible()
    shot(card, "03-card-thanks-phone")
    phone.close()

    # 3. YES from the simulator; the first text goes, then the second after "+24 hours".
    deadline = time.time() + 30
    while not sim_texts(to=GUEST) and time.time() < deadline:
        time.sleep(0.5)
    sim("/_sim/inbound", {"from": GUEST, "to": CHURCH_NUMBER, "text": "YES"})
    page.goto(automation)
    started = time.time()
    reload_until(page, lambda: went_out(step_cell(page, 0, 4)), timeout=120)
    summary["automation step 1"] = f"{step_cell(page, 0, 4)} after {time.time() - started:.0f} s"
    shot(page, "04-automation-step-one")
    page.get_by_role("button", name="+24 hours").click()
    expect(page.get_by_text("hours ahead; their due steps ran")).to_be_visible()
    reload_until(page, lambda: went_out(step_cell(page, 2, 4)) and step_cell(page, 3, 3) == "1", timeout=60)
    summary["automation step 3"] = step_cell(page, 2, 4)
    shot(page, "05-automation-step-two")
    deadline = time.time() + 30
    while not any("Lydia, coffee" in m["text"] for m in sim_texts(to=GUEST)) and time.time() < deadline:
        time.sleep(0.5)
    guest_texts = [m["text"] for m in sim_texts(to=GUEST)]
    assert any("Hi Lydia" in t for t in guest_texts) and any("Lydia, coffee" in t for t in guest_texts), guest_texts
    summary["guest texts"] = len(guest_texts)

    # 4. A broadcast to Youth with a tracked link; a recipient opens it on a phone.
    target = f"{BASE}/health?from=youth-{stamp}"
    page.goto(f"{BASE}/broadcasts/new")
    page.get_by_label("Youth").check()
    page.get_by_label("Message").fill(f"Youth night Friday 7pm! Details: {target}")
    page.get_by_label("Track links").check()
    expect(page.locator("#preview")).to_contain_text(f"{BASE}/l/")
    page.get_by_role("button", name="Review and confirm").click()
    page.locator("#send-button").click()
    expect(page.locator("#link-clicks")).to_contain_text(target)
    youth_page = page.url
    deadline, links = time.time() + 60, []
    while not links and time.time() < deadline:
        links = [m for m in sim_texts(limit=200) if "Youth night" in m["text"] and f"{BASE}/l/" in m["text"]]
        time.sleep(0.5)
    short = re.search(re.escape(BASE) + r"/l/\S+", links[0]["text"]).group(0)
    tapper = browser.new_context(viewport={"width": 390, "height": 844}, user_agent=IPHONE, is_mobile=True)
    tap = tapper.new_page()
    tap.goto(short)
    assert tap.url == target, tap.url
    tapper.close()
    page.goto(youth_page)
    row = page.locator("#link-clicks tbody tr").first
    reload_until(page, lambda: row.locator("td").nth(1).inner_text() == "1", timeout=60)
    expect(row.locator("td").nth(2)).to_have_text("1")
    summary["tracked link"] = f"{short} -> 1 click, 1 clicker"
    page.locator("#link-clicks").scroll_into_view_if_needed()
    shot(page, "06-tracked-link-click")

    # 5. 5,000 members by CSV import, then a broadcast to everyone, paused and resumed.
    page.goto(f"{BASE}/members/import")
    page.get_by_label("CSV file").set_input_files(str(member_csv(OUT / "five-thousand.csv")))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", name="Check the columns")).to_be_visible()
    page.get_by_label("These people agreed to receive texts from us").check()
    page.get_by_role("button", name="Import 5,000 rows").click()
    progress = page.locator("#import-progress")
    started = time.time()
    expect(progress.get_by_role("heading", name="Import finished")).to_be_visible(timeout=300_000)
    expect(progress.locator("[data-count=imported]")).to_have_text("5,000")
    summary["import"] = f"5,000 imported in about {time.time() - started:.0f} s"
    shot(page, "07-import-finished")

    in_app(  # the Ministry plan's 20,000 texts a month; saved through the models so caches follow
        "from app.models import Church\n"
        "db.session.query(Church).filter_by(slug='grace-community-church').one().plan = 'ministry'\n"
        "db.session.commit()"
    )
    marker = f"[{stamp}]"
    page.goto(f"{BASE}/broadcasts/new")
    page.get_by_label("Everyone (all members)").check()
    page.get_by_label("Message").fill(f"Grace {marker}: Christmas Eve services at 5 and 7pm. All welcome!")
    page.get_by_role("button", name="Review and confirm").click()
    page.locator("#send-button").click()
    expect(page.locator("#status-counts")).to_be_visible()
    big = page.url
    started = time.time()
    total = int(re.search(r"([\d,]+) recipients", page.locator("#progress").inner_text()).group(1).replace(",", ""))
    assert total >= MEMBERS, total
    page.wait_for_function(
        "() => { const s = document.querySelector('#status-counts'); return s && /Sent\\s+[1-9]/.test(s.innerText)"
        " || /Delivered\\s+[1-9]\\d{2}/.test(s.innerText); }",
        timeout=120_000,
    )
    page.get_by_role("button", name="Pause sending").click()
    expect(page.locator("#paused-note")).to_be_visible()
    paused_at = time.time()
    page.wait_for_timeout(5000)  # texts already handed to the queue finish; nothing new starts
    page.reload()
    settled = count(page, "Delivered") + count(page, "Sent") + count(page, "Failed")
    page.wait_for_timeout(5000)
    page.reload()
    still = count(page, "Delivered") + count(page, "Sent") + count(page, "Failed")
    summary["paused"] = f"{settled} of {total} out when paused; {still} after 5 more seconds"
    assert still == settled, (settled, still)
    shot(page, "08-broadcast-paused")
    page.get_by_role("button", name="Resume sending").click()
    paused_for = time.time() - paused_at
    expect(page.locator("#paused-note")).to_have_count(0)
    expect(page.locator("#progress")).to_contain_text("finished", timeout=900_000)
    elapsed = time.time() - started
    shot(page, "09-broadcast-finished")

    got = Counter(m["to"] for m in sim_texts() if marker in m["text"])
    big_id = int(re.search(r"/broadcasts/(\d+)", big).group(1))
    phones = set(
        in_app(
            "from sqlalchemy import text\n"
            "rows = db.session.execute(text('SELECT to_e164 FROM broadcast_recipients WHERE broadcast_id = :b'),"
            f" {{'b': {big_id}}})\n"
            "print('\\n'.join(r[0] for r in rows))"
        ).split()
    )
    twice = {k: v for k, v in got.items() if v > 1}
    missing = phones - set(got)
    summary["everyone"] = (
        f"{total} recipients; simulator accepted {sum(got.values())} to {len(got)} numbers; "
        f"delivered {count(page, 'Delivered')}, failed {count(page, 'Failed')}, skipped {count(page, 'Skipped')}; "
        f"{elapsed:.0f} s including {paused_for:.0f} s paused"
    )
    assert not twice and not missing and len(got) == total, (len(twice), len(missing), len(got))
    summary["exactly once"] = f"all {len(phones)} recipients' numbers got it once, none twice"
    print("console errors:", errors)
    browser.close()
print()
for key, value in summary.items():
    print(f"{key}: {value}")
print("walkthrough done")
