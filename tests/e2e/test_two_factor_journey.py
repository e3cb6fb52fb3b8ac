"""Two-factor in a real browser: an authenticator app, then a passkey on a virtual authenticator."""

import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pyotp
import pytest
from playwright.sync_api import expect

from app.auth.services import hash_password

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
EMAIL, PASSWORD = "two.factor@example.org", "two-factor-journey"


@pytest.fixture
def person(e2e_env):
    """A staff member of Grace of their own (the demo logins stay password-only for other journeys)."""
    url = e2e_env["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM users WHERE email = %s", (EMAIL,))
        conn.execute(
            "INSERT INTO users (church_id, email, name, password_hash, role) "
            "SELECT id, %s, 'Tess Factor', %s, 'admin' FROM churches WHERE slug = 'grace-community-church'",
            (EMAIL, hash_password(PASSWORD)),
        )
    yield EMAIL
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM users WHERE email = %s", (EMAIL,))


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def password_step(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to Koinonia")).to_be_visible()


def test_authenticator_app_then_passkey(page, base_url, person):
    # Passkeys need a host name (browsers refuse IP addresses): the app serves loopback as localhost.
    base = base_url.replace("127.0.0.1", "localhost")
    page.set_viewport_size({"width": 1280, "height": 860})
    password_step(page, base)
    page.get_by_role("link", name=EMAIL).click()  # the account page
    page.get_by_role("link", name="Two-factor").click()
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    shot(page, "two-factor")

    # 1. The authenticator app: the secret comes from the URI shown as text beside the QR code.
    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.locator(".qr svg")).to_be_visible()
    uri = page.locator("#otpauth-uri").inner_text()
    assert uri.startswith("otpauth://totp/Koinonia:")
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    shot(page, "two-factor-app-set-up")
    # The previous step's code (accepted, one step either side) leaves the current one unused.
    page.get_by_label("Code from your app").fill(pyotp.TOTP(secret).at(time.time() - 30))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    shot(page, "two-factor-recovery-codes")
    page.get_by_role("link", name="I have saved them").click()
    sign_out(page)

    password_step(page, base)
    expect(page.get_by_role("heading", name="One more step")).to_be_visible()
    shot(page, "two-factor-sign-in")
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Verify").click()
    expect(page.locator(".user-menu")).to_contain_text("Grace Community Church")

    # 2. A passkey, on Chromium's virtual authenticator (a platform authenticator that verifies its user).
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
    page.goto(f"{base}/account/two-factor")
    page.get_by_label("Name this passkey").fill("Test laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text("Passkey “Test laptop” added.")).to_be_visible()
    expect(page.locator("#passkey-list")).to_contain_text("Test laptop")
    shot(page, "two-factor-passkey")
    sign_out(page)

    # As the second step after the password…
    password_step(page, base)
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.locator(".user-menu")).to_contain_text("Grace Community Church")
    sign_out(page)

    # …and on its own, from the sign-in page.
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_visible()
    shot(page, "sign-in-with-passkey")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.locator(".user-menu")).to_contain_text(EMAIL)
    shot(page, "signed-in-with-passkey")
