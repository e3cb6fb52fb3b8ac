"""A new church's first hour in Chromium, against a running `make dev`; screenshots of each step.

    APP_BASE_URL=http://localhost:8000 make dev          # passkeys need a host name, not an IP
    .venv/bin/python scripts/new_church_walkthrough.py [BASE] [SIMULATOR] [OUT]
    # defaults: http://localhost:8000  http://127.0.0.1:8025  /tmp/journey

Signs a church up and opens the verification mail from the simulator's mail page, buys a number,
invites a leader who accepts on a phone-sized browser and sets up an authenticator app, resets the
owner's forgotten password from the mail, adds a passkey and signs in with it alone, and ends on
the audit log. docs/screenshots/new-church/ holds a run's screenshots.
"""

import json
import re
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyotp
from playwright.sync_api import expect, sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://localhost:8000"
SIM = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:8025"
OUT = Path(sys.argv[3] if len(sys.argv) > 3 else "/tmp/journey")
OUT.mkdir(parents=True, exist_ok=True)
ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
stamp = int(time.time()) % 100000
OWNER, LEADER = f"pastor{stamp}@newlife.example", f"youth{stamp}@newlife.example"
PW, PW_LEADER, PW_NEW = "living stones built up", "a shepherd's heart 7", "a spiritual house anew"


def shot(page, name):
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print("shot", name, flush=True)


def mail_link(to, path, nth=1, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        mails = [m for m in json.load(urllib.request.urlopen(f"{SIM}/mail/messages.json")) if m["to"] == to]
        if len(mails) >= nth:
            found = re.findall(r"https?://\S+" + re.escape(path) + r"\S+", mails[nth - 1]["text"])
            if found:
                return found[0]
        time.sleep(0.5)
    raise SystemExit(f"no mail {nth} for {to} with {path}")


def sign_in(page, email, password):
    page.goto(f"{BASE}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_out(page):
    menu = page.get_by_role("link", name="Menu")
    if menu.is_visible():  # a phone: the header folds behind a menu button
        menu.click()
    page.get_by_role("button", name="Sign out").click()


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
    owner_ctx = browser.new_context(viewport={"width": 1280, "height": 860})
    page = owner_ctx.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # 1. Sign up.
    page.goto(f"{BASE}/signup")
    page.get_by_label("Church name").fill("New Life Fellowship")
    page.get_by_label("Your name").fill("Paula Pastor")
    page.get_by_label("Email").fill(OWNER)
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#password-error")).to_be_visible()
    shot(page, "01-signup-error")
    page.get_by_label("Password").fill(PW)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Confirm your email")).to_be_visible()
    shot(page, "02-signup-sent")

    # 2. The verification mail, in the simulator's mail page.
    page.goto(f"{SIM}/mail")
    shot(page, "03-dev-mail")
    page.goto(mail_link(OWNER, "/signup/verify/"))
    expect(page.locator(".onboarding")).to_be_visible()
    shot(page, "04-dashboard-checklist")

    # 3. A number from the simulator.
    page.goto(f"{BASE}/settings/numbers/buy?kind=local&area_code=312")
    shot(page, "05-buy-number")
    page.get_by_role("button", name="Get this number").first.click()
    expect(page.get_by_text("is yours")).to_be_visible()
    shot(page, "06-number-bought")

    # 4. Invite a leader.
    page.goto(f"{BASE}/settings/staff")
    page.get_by_label("Email").fill(LEADER)
    page.get_by_label("Role", exact=True).select_option("leader")
    page.get_by_role("button", name="Send invitation").click()
    shot(page, "07-staff-invited")

    # 5. The leader accepts in a browser of their own.
    leader_ctx = browser.new_context(viewport={"width": 390, "height": 844})
    leader = leader_ctx.new_page()
    leader.goto(mail_link(LEADER, "/invite/"))
    leader.get_by_label("Your name").fill("Yusuf Youth")
    leader.get_by_label("Password", exact=True).fill(PW_LEADER)
    leader.get_by_label("Type it again").fill(PW_LEADER)
    shot(leader, "08-invite-accept")
    leader.get_by_role("button", name=re.compile("^Join")).click()
    expect(leader.get_by_role("heading", name="New Life Fellowship")).to_be_visible()
    shot(leader, "09-leader-signed-in")

    # 6. The leader sets up an authenticator app, signs out, signs in with a code.
    leader.goto(f"{BASE}/account")
    shot(leader, "10-account")
    leader.goto(f"{BASE}/account/two-factor")
    leader.get_by_role("button", name="Set up an authenticator app").click()
    uri = leader.locator("#otpauth-uri").inner_text()
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    shot(leader, "11-totp-set-up")
    leader.get_by_label("Code from your app").fill(pyotp.TOTP(secret).at(time.time() - 30))
    leader.get_by_role("button", name="Turn on").click()
    expect(leader.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    shot(leader, "12-recovery-codes")
    leader.get_by_role("link", name="I have saved them").click()
    sign_out(leader)
    sign_in(leader, LEADER, PW_LEADER)
    expect(leader.get_by_role("heading", name="One more step")).to_be_visible()
    leader.get_by_label("Code").fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    leader.get_by_role("button", name="Verify").click()
    shot(leader, "13-wrong-code")
    leader.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    leader.get_by_role("button", name="Verify").click()
    expect(leader.get_by_role("heading", name="New Life Fellowship")).to_be_visible()
    shot(leader, "14-leader-signed-in-with-code")

    # 7. The owner forgets the password and resets it from the mail.
    sign_out(page)
    page.get_by_role("link", name="Forgotten your password?").click()
    page.get_by_label("Email").fill(OWNER)
    page.get_by_role("button", name="Mail me a link").click()
    shot(page, "15-forgot-sent")
    page.goto(mail_link(OWNER, "/password/reset/", nth=2))
    page.get_by_label("New password").fill(PW_NEW)
    page.get_by_label("Type it again").fill(PW_NEW)
    page.get_by_role("button", name="Save the new password").click()
    shot(page, "16-reset-done")
    sign_in(page, OWNER, PW_NEW)
    expect(page.locator(".user-menu")).to_contain_text("New Life Fellowship")

    # 8. A passkey, on Chromium's virtual authenticator; then sign in with it alone.
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    page.goto(f"{BASE}/account/two-factor")
    page.get_by_label("Name this passkey").fill("Church office laptop")
    page.get_by_role("button", name="Add a passkey").click()
    # The first second factor comes with recovery codes, shown this once.
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    shot(page, "17a-passkey-recovery-codes")
    page.get_by_role("link", name="I have saved them").click()
    expect(page.locator("#passkey-list")).to_contain_text("Church office laptop")
    shot(page, "17-passkey-added")
    sign_out(page)
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.locator(".user-menu")).to_contain_text(OWNER)
    shot(page, "18-signed-in-with-passkey")
    page.goto(f"{BASE}/settings/audit")
    shot(page, "19-audit-log")
    print("console errors:", errors)
    browser.close()
print("journey done")
