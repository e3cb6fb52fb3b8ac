"""Forgotten passwords: the same answer for every address, a one-hour single-use link, sessions ended."""

from __future__ import annotations

from flask import g

from app.auth.services import authenticate, find_user_by_email
from tests.conftest import deliver_mail
from tests.integration.accounts.conftest import mailed_link

NEW = "a brand new passphrase"


def _forgot(client, email):
    return client.post("/password/forgot", data={"email": email})


def _new_request(client, path="/"):
    g.pop("_login_user", None)
    return client.get(path)


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(client, mailbox):
    known = _forgot(client, "admin@example.org")
    unknown = _forgot(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    normalise = lambda r, email: r.get_data(as_text=True).replace(email, "EMAIL")  # noqa: E731
    assert normalise(known, "admin@example.org") == normalise(unknown, "nobody@example.org")
    deliver_mail()
    assert len(mailbox.messages("admin@example.org")) == 1
    assert mailbox.messages("nobody@example.org") == []


def test_a_bad_address_is_refused_by_the_field(client, mailbox):
    response = _forgot(client, "not-an-address")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="email-error"' in html and 'value="not-an-address"' in html


def test_reset_from_the_mailed_link_then_sign_in_with_the_new_password(client, db, mailbox):
    _forgot(client, "admin@example.org")
    path = mailed_link(mailbox, "admin@example.org", "/password/reset/")

    page = client.get(path)
    assert page.status_code == 200 and 'name="password"' in page.get_data(as_text=True)
    response = client.post(path, data={"password": NEW, "confirm": NEW})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")

    assert authenticate("admin@example.org", "koinonia-demo") is None
    assert authenticate("admin@example.org", NEW) is not None
    assert client.post("/login", data={"email": "admin@example.org", "password": NEW}).status_code == 302


def test_a_used_link_answers_410_with_no_password_form(client, mailbox):
    _forgot(client, "admin@example.org")
    path = mailed_link(mailbox, "admin@example.org", "/password/reset/")
    client.post(path, data={"password": NEW, "confirm": NEW})
    for response in (client.get(path), client.post(path, data={"password": NEW + "2", "confirm": NEW + "2"})):
        assert response.status_code == 410
        assert 'type="password"' not in response.get_data(as_text=True)
    assert authenticate("admin@example.org", NEW) is not None


def test_an_unknown_link_answers_410(client):
    response = client.get("/password/reset/not-a-real-token")
    assert response.status_code == 410 and 'type="password"' not in response.get_data(as_text=True)


def test_an_expired_link_answers_410(client, db, mailbox):
    _forgot(client, "admin@example.org")
    path = mailed_link(mailbox, "admin@example.org", "/password/reset/")
    db.session.execute(db.text("UPDATE account_tokens SET expires_at = now() - interval '1 second'"))
    assert client.get(path).status_code == 410


def test_bad_new_passwords_are_refused_by_the_field(client, mailbox):
    _forgot(client, "admin@example.org")
    path = mailed_link(mailbox, "admin@example.org", "/password/reset/")
    cases = [
        ({"password": "short", "confirm": "short"}, "password-error", "at least 10"),
        ({"password": "qwertyuiop", "confirm": "qwertyuiop"}, "password-error", "common"),
        ({"password": NEW, "confirm": NEW + "x"}, "confirm-error", "differ"),
        ({"password": "", "confirm": ""}, "password-error", "Choose a password"),
    ]
    for data, error_id, message in cases:
        response = client.post(path, data=data)
        assert response.status_code == 422, data
        html = response.get_data(as_text=True)
        assert f'id="{error_id}"' in html and message in html
    assert client.get(path).status_code == 200  # the link still works after mistakes


def test_resetting_ends_every_session(app, client, db, mailbox):
    signed_in = app.test_client()
    assert signed_in.post("/login", data={"email": "admin@example.org", "password": "koinonia-demo"}).status_code == 302
    assert _new_request(signed_in).status_code == 200
    _forgot(client, "admin@example.org")
    path = mailed_link(mailbox, "admin@example.org", "/password/reset/")
    client.post(path, data={"password": NEW, "confirm": NEW})
    assert _new_request(signed_in).status_code == 302


def test_a_reset_sends_a_notice_and_spends_other_links(client, mailbox):
    _forgot(client, "admin@example.org")
    first = mailed_link(mailbox, "admin@example.org", "/password/reset/")
    _forgot(client, "admin@example.org")
    second = mailed_link(mailbox, "admin@example.org", "/password/reset/")
    assert first != second
    client.post(second, data={"password": NEW, "confirm": NEW})
    assert client.get(first).status_code == 410
    deliver_mail()
    assert mailbox.messages("admin@example.org")[-1]["subject"] == "Your Koinonia password was changed"


def test_requests_for_one_address_are_rate_limited(client, mailbox):
    for _ in range(3):
        assert _forgot(client, "admin@example.org").status_code == 200
    refused = _forgot(client, "ADMIN@example.org")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    # Unknown addresses are counted the same way, so a refusal says nothing about accounts.
    for _ in range(3):
        _forgot(client, "ghost@example.org")
    assert _forgot(client, "ghost@example.org").status_code == 429
    deliver_mail()
    assert len(mailbox.messages("admin@example.org")) == 3


def test_requests_from_one_address_are_rate_limited(client, mailbox):
    statuses = [_forgot(client, f"person{n}@example.org").status_code for n in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429


def test_an_inactive_account_gets_no_link(client, db, mailbox):
    find_user_by_email("leader@example.org").active = False
    db.session.commit()
    assert _forgot(client, "leader@example.org").status_code == 200
    deliver_mail()
    assert mailbox.messages("leader@example.org") == []
