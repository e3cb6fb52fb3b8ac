"""Two-factor sign-in: set-up, the step after the password, recovery codes, and the church requirement."""

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from app.auth.two_factor import services
from app.models import RecoveryCode, TotpSecret
from tests.factories import UserFactory

PASSWORD = "correct horse battery"  # tests.factories.tenancy's


@pytest.fixture
def user(church):
    return UserFactory(church_id=church.id, role="admin", email="twofactor@example.org")


def turn_on_app(user) -> tuple[str, list[str]]:
    """The user's app secret and recovery codes, confirmed with a code from a minute ago (so the
    current code is still unused)."""
    secret = services.start_totp_setup(user)
    codes = services.confirm_totp(user, pyotp.TOTP(secret).at(time.time() - 60), now=time.time() - 60)
    assert codes
    return secret, codes


def password_step(client, email="twofactor@example.org", **extra):
    return client.post("/login" + extra.pop("query", ""), data={"email": email, "password": PASSWORD, **extra})


def test_set_up_shows_the_uri_and_qr_then_confirms_with_a_code(client, login_as, user, db):
    login_as(user.email)
    assert client.post("/account/two-factor/app/start").status_code == 302
    page = client.get("/account/two-factor/app")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    uri = re.search(r'id="otpauth-uri">([^<]+)<', html).group(1).replace("&amp;", "&")
    assert uri.startswith("otpauth://totp/Koinonia:")
    assert "<svg" in html and 'class="qr-code"' in html
    secret = pyotp.parse_uri(uri).secret
    # Stored sealed, not as the secret itself.
    stored = db.session.get(TotpSecret, user.id).secret_encrypted
    assert secret not in stored

    wrong = client.post(
        "/account/two-factor/app", data={"code": "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"}
    )
    assert wrong.status_code == 422
    assert 'id="code-error"' in wrong.get_data(as_text=True)
    assert not user.two_factor_enabled

    done = client.post("/account/two-factor/app", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    shown = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", done.get_data(as_text=True))
    assert len(shown) == 10
    assert done.headers["Cache-Control"] == "no-store"
    assert user.two_factor_enabled
    hashes = set(db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)))
    assert len(hashes) == 10 and not hashes & set(shown)
    # Shown once: the page does not show them again.
    assert shown[0] not in client.get("/account/two-factor").get_data(as_text=True)


def test_password_alone_does_not_sign_in_when_two_factor_is_on(client, user):
    turn_on_app(user)
    response = password_step(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login/two-factor")
    assert "/login" in client.get("/members").headers["Location"]  # not signed in
    page = client.get("/login/two-factor")
    assert page.status_code == 200 and "authenticator app" in page.get_data(as_text=True)


def test_a_right_code_signs_in_once_and_the_same_code_is_refused_after(client, user):
    secret, _ = turn_on_app(user)
    password_step(client, query="?next=/members")
    code = pyotp.TOTP(secret).now()
    response = client.post("/login/two-factor", data={"code": code})
    assert response.status_code == 302 and response.headers["Location"] == "/members"
    assert client.get("/members").status_code == 200

    client.post("/logout")
    password_step(client)
    replay = client.post("/login/two-factor", data={"code": code})
    assert replay.status_code == 422
    assert 'id="code-error"' in replay.get_data(as_text=True)
    assert "already used" in replay.get_data(as_text=True)


def test_a_wrong_code_is_shown_by_the_field(client, user):
    secret, _ = turn_on_app(user)
    password_step(client)
    wrong = "123456" if pyotp.TOTP(secret).now() != "123456" else "654321"
    response = client.post("/login/two-factor", data={"code": wrong})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="code-error"' in html and 'aria-invalid="true"' in html


def test_codes_are_locked_out_after_five_wrong_ones(client, user):
    secret, _ = turn_on_app(user)
    password_step(client)
    for _ in range(5):
        assert client.post("/login/two-factor", data={"code": "000001"}).status_code == 422
    locked = client.post("/login/two-factor", data={"code": pyotp.TOTP(secret).now()})
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    assert "Too many codes" in locked.get_data(as_text=True)
    assert "/login" in client.get("/members").headers["Location"]


def test_a_recovery_code_works_once(client, user):
    _, codes = turn_on_app(user)
    password_step(client)
    assert client.post("/login/two-factor", data={"code": codes[0].upper()}).status_code == 302
    assert client.get("/members").status_code == 200
    client.post("/logout")
    password_step(client)
    again = client.post("/login/two-factor", data={"code": codes[0]})
    assert again.status_code == 422


def test_remember_me_is_carried_through_the_second_step(client, user):
    secret, _ = turn_on_app(user)
    password_step(client, remember="y")
    assert client.get_cookie("remember_token") is None
    response = client.post("/login/two-factor", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert client.get_cookie("remember_token") is not None


def test_the_second_step_without_a_password_goes_back_to_sign_in(client, user):
    turn_on_app(user)
    response = client.post("/login/two-factor", data={"code": "123456"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_turning_the_app_off_needs_the_password_or_a_code(client, login_as, user):
    turn_on_app(user)
    login_as(user.email)
    refused = client.post("/account/two-factor/app/off", data={"password_or_code": "guess"})
    assert refused.status_code == 422
    assert 'id="password_or_code-error"' in refused.get_data(as_text=True)
    assert user.two_factor_enabled
    assert client.post("/account/two-factor/app/off", data={"password_or_code": PASSWORD}).status_code == 302
    assert not user.two_factor_enabled
    assert password_step(client).headers["Location"] != "/login/two-factor"


def test_new_recovery_codes_replace_the_old(client, login_as, user):
    _, old = turn_on_app(user)
    login_as(user.email)
    assert client.post("/account/two-factor/recovery-codes", data={"password": "nope"}).status_code == 422
    page = client.post("/account/two-factor/recovery-codes", data={"password": PASSWORD})
    new = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", page.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert not services.use_recovery_code(user, old[1])
    assert services.use_recovery_code(user, new[1])


def test_owner_requires_two_factor_only_once_their_own_is_on(client, login_as, church):
    owner = login_as("owner")
    refused = client.post("/account/two-factor/require", data={"required": "y"})
    assert refused.status_code == 422
    assert "your own account first" in refused.get_data(as_text=True)
    assert not church.require_two_factor
    turn_on_app(owner)
    assert client.post("/account/two-factor/require", data={"required": "y"}).status_code == 302
    assert church.require_two_factor


def test_admins_cannot_change_the_requirement(client, login_as):
    login_as("admin")
    assert client.post("/account/two-factor/require", data={"required": "y"}).status_code == 403


def test_staff_without_two_factor_are_sent_to_set_up_in_a_church_that_requires_it(client, login_as, church, user):
    church.require_two_factor = True
    response = password_step(client)
    assert response.status_code == 302
    for path in ("/", "/members", "/inbox", "/settings"):
        blocked = client.get(path)
        assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/account/two-factor"), path
    fragment = client.get("/members", headers={"HX-Request": "true"})
    assert fragment.headers["HX-Redirect"].endswith("/account/two-factor")
    page = client.get("/account/two-factor")
    assert page.status_code == 200 and "requires two-factor" in page.get_data(as_text=True)

    turn_on_app(user)
    assert client.get("/members").status_code == 200


def test_the_last_factor_cannot_be_removed_while_the_church_requires_it(client, login_as, church, user):
    turn_on_app(user)
    church.require_two_factor = True
    login_as(user.email)
    refused = client.post("/account/two-factor/app/off", data={"password_or_code": PASSWORD})
    assert refused.status_code == 422 and "requires two-factor" in refused.get_data(as_text=True)
    assert user.two_factor_enabled


def test_other_churches_are_not_affected_by_the_requirement(client, login_as, church):
    church.require_two_factor = True
    login_as("hope")
    assert client.get("/members").status_code == 200


def test_someone_elses_passkey_cannot_be_removed(client, login_as, church, user, db):
    from app.models import Passkey

    passkey = Passkey(
        church_id=church.id, user_id=user.id, name="Theirs", credential_id=b"c1", public_key=b"k", user_handle=b"h"
    )
    db.session.add(passkey)
    db.session.flush()
    login_as("owner")  # same church, another user
    assert client.post(f"/account/two-factor/passkeys/{passkey.id}/delete").status_code == 404
    assert db.session.get(Passkey, passkey.id) is not None


def test_password_checks_on_the_two_factor_page_count_as_sign_in_attempts(client, login_as, user):
    turn_on_app(user)
    login_as(user.email)
    for _ in range(5):
        assert client.post("/account/two-factor/recovery-codes", data={"password": "guess"}).status_code == 422
    refused = client.post("/account/two-factor/recovery-codes", data={"password": PASSWORD})
    assert refused.status_code == 422 and "Too many attempts" in refused.get_data(as_text=True)
