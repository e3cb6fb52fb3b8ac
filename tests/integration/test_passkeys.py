"""Passkeys through the real WebAuthn verification: registering, as a second factor, and alone."""

import json

import pytest

from app.models import Passkey
from tests.factories import UserFactory
from tests.soft_authenticator import SoftAuthenticator

PASSWORD = "correct horse battery"


@pytest.fixture
def user(church):
    return UserFactory(church_id=church.id, role="leader", email="passkey@example.org")


def register(client, authenticator: SoftAuthenticator, name: str = "Laptop"):
    options = client.post("/account/two-factor/passkeys/options").get_json()
    credential = authenticator.create(options)
    return client.post("/account/two-factor/passkeys", data={"name": name, "credential": json.dumps(credential)})


def with_passkey(client, login_as, user) -> SoftAuthenticator:
    login_as(user.email)
    authenticator = SoftAuthenticator()
    assert register(client, authenticator).status_code == 200
    client.post("/logout")
    return authenticator


def test_registration_asks_for_a_discoverable_credential_for_the_site(client, login_as, user):
    login_as(user.email)
    response = client.post("/account/two-factor/passkeys/options")
    options = response.get_json()
    assert options["rp"]["id"] == "localhost"  # APP_BASE_URL's loopback host, as browsers accept it
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["user"]["name"] == user.email
    assert response.headers["Cache-Control"] == "no-store"


def test_a_first_passkey_turns_two_factor_on_and_shows_recovery_codes(client, login_as, user, db):
    login_as(user.email)
    response = register(client, SoftAuthenticator(), "Work laptop")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("<li><code>") == 10
    assert user.two_factor_enabled
    assert [p.name for p in db.session.query(Passkey).filter_by(user_id=user.id)] == ["Work laptop"]


def test_an_answer_from_another_site_is_refused_by_the_name_field(client, login_as, user):
    login_as(user.email)
    response = register(client, SoftAuthenticator(origin="https://evil.example"))
    assert response.status_code == 422
    assert 'id="name-error"' in response.get_data(as_text=True)
    assert not user.two_factor_enabled


def test_a_passkey_is_the_second_step_after_the_password(client, login_as, user):
    authenticator = with_passkey(client, login_as, user)
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    assert "/login" in client.get("/inbox").headers["Location"]
    options = client.post("/login/two-factor/passkey/options").get_json()
    assert [c["id"] for c in options["allowCredentials"]]
    answer = json.dumps(authenticator.get(options))
    assert client.post("/login/two-factor/passkey", data={"credential": answer}).status_code == 302
    assert client.get("/inbox").status_code == 200


def test_the_same_assertion_cannot_be_used_twice(client, login_as, user):
    authenticator = with_passkey(client, login_as, user)
    options = client.post("/login/passkey/options").get_json()
    answer = json.dumps(authenticator.get(options))
    assert client.post("/login/passkey", data={"credential": answer}).status_code == 302
    client.post("/logout")
    replay = client.post("/login/passkey", data={"credential": answer})
    assert replay.headers["Location"].startswith("/login")
    assert "/login" in client.get("/inbox").headers["Location"]


def test_a_passkey_signs_in_alone_only_when_the_device_verified_its_user(client, login_as, user):
    authenticator = with_passkey(client, login_as, user)
    options = client.post("/login/passkey/options").get_json()
    assert options["userVerification"] == "required" and not options.get("allowCredentials")
    unverified = json.dumps(authenticator.get(options, user_verified=False))
    client.post("/login/passkey", data={"credential": unverified})
    assert "/login" in client.get("/inbox").headers["Location"]

    options = client.post("/login/passkey/options").get_json()
    response = client.post("/login/passkey?next=/inbox", data={"credential": json.dumps(authenticator.get(options))})
    assert response.headers["Location"] == "/inbox"
    assert client.get("/inbox").status_code == 200


def test_someone_elses_passkey_is_not_a_second_factor(client, login_as, user, church):
    theirs = with_passkey(client, login_as, user)
    other = UserFactory(church_id=church.id, role="leader", email="other.passkey@example.org")
    with_passkey(client, login_as, other)
    client.post("/login", data={"email": other.email, "password": PASSWORD})
    options = client.post("/login/two-factor/passkey/options").get_json()
    response = client.post("/login/two-factor/passkey", data={"credential": json.dumps(theirs.get(options))})
    assert response.status_code == 422
    assert "/login" in client.get("/inbox").headers["Location"]


def test_removing_the_last_passkey_turns_two_factor_off(client, login_as, user, db):
    with_passkey(client, login_as, user)
    login_as(user.email)
    passkey = db.session.query(Passkey).filter_by(user_id=user.id).one()
    assert client.post(f"/account/two-factor/passkeys/{passkey.id}/delete").status_code == 302
    assert not user.two_factor_enabled
    assert client.post("/login", data={"email": user.email, "password": PASSWORD}).headers["Location"] != (
        "/login/two-factor"
    )
