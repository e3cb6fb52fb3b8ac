"""/account/sessions: every sign-in is a session you can see and end, and an ended one stops at once."""

import pytest
from flask import g
from sqlalchemy import event, select

from app import cache
from app.auth import sessions
from app.models import AuditLog, UserSession
from tests.factories import UserFactory

CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture(autouse=True)
def cached_identity(app):
    """A process that has not remembered anyone yet, as in production (the cache stays on)."""
    cache.forget_local()
    yield
    cache.forget_local()


@pytest.fixture(autouse=True)
def person(db, church):
    """Someone of Grace's staff whose sessions are all made by the test."""
    return UserFactory(church_id=church.id, role="admin", email="sessions.person@example.org")


def _browser(app, user_agent, email="sessions.person@example.org", remember=False):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    # The demo logins' password, or the factory's.
    password = "correct horse battery" if email == "sessions.person@example.org" else "koinonia-demo"
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    g.pop("_login_user", None)  # the test shares one app context; a real request starts without it
    assert client.post("/login", data=data).status_code == 302
    return client


def _get(client, path="/"):
    g.pop("_login_user", None)  # the test shares one app context; a real request starts without it
    return client.get(path)


def _post(client, path, data=None):
    g.pop("_login_user", None)
    return client.post(path, data=data or {})


def test_a_sign_in_starts_a_session_row_named_in_the_cookie(app, db):
    laptop = _browser(app, CHROME_MAC)
    with laptop.session_transaction() as session:
        token = sessions.parse_token(session["_user_id"])
    assert token is not None
    row = db.session.get(UserSession, token.key)
    assert row is not None and row.user_agent == CHROME_MAC
    assert _get(laptop).status_code == 200


def test_two_browsers_are_both_listed_with_this_device_marked(app, db):
    laptop = _browser(app, CHROME_MAC)
    phone = _browser(app, SAFARI_IPHONE)
    page = _get(laptop, "/account/sessions").get_data(as_text=True)
    assert "Chrome on macOS" in page
    assert "Safari on iPhone" in page
    assert page.count("This device") == 1
    assert "127.0.0.x" in page  # the network, not the address
    mine = page.split("This device")[0].rsplit("<tr>", 1)[1]
    assert "Chrome on macOS" in mine
    assert _get(phone).status_code == 200


def test_ending_one_session_signs_that_browser_out_on_its_next_request(app, db):
    laptop = _browser(app, CHROME_MAC)
    phone = _browser(app, SAFARI_IPHONE)
    assert _get(phone).status_code == 200  # remembered by this process before it ends
    with phone.session_transaction() as session:
        phone_key = sessions.parse_token(session["_user_id"]).key
    response = _post(laptop, "/account/sessions/end", {"session": phone_key})
    assert response.status_code == 302
    assert db.session.get(UserSession, phone_key) is None
    ended = _get(phone)
    assert ended.status_code == 302 and "/login" in ended.headers["Location"]
    assert _get(laptop).status_code == 200
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "auth.session_ended")) is not None


def test_an_ended_remember_me_session_does_not_come_back_from_its_cookie(app, db):
    laptop = _browser(app, CHROME_MAC)
    phone = _browser(app, SAFARI_IPHONE, remember=True)
    remembered = app.test_client()
    remembered.set_cookie("remember_token", phone.get_cookie("remember_token").value)
    assert _get(remembered).status_code == 200  # the cookie alone signs in
    with phone.session_transaction() as session:
        phone_key = sessions.parse_token(session["_user_id"]).key
    _post(laptop, "/account/sessions/end", {"session": phone_key})
    fresh = app.test_client()
    fresh.set_cookie("remember_token", phone.get_cookie("remember_token").value)
    assert _get(fresh).status_code == 302


def test_sign_out_all_others_keeps_this_browser(app, db):
    laptop = _browser(app, CHROME_MAC)
    phone = _browser(app, SAFARI_IPHONE)
    tablet = _browser(app, SAFARI_IPHONE.replace("iPhone", "iPad"))
    for client in (laptop, phone, tablet):
        assert _get(client).status_code == 200
    response = _post(laptop, "/account/sessions/end-others")
    assert response.status_code == 302
    assert "Signed out of 2 other sessions" in _get(laptop, "/account/sessions").get_data(as_text=True)
    assert _get(phone).status_code == 302
    assert _get(tablet).status_code == 302
    assert _get(laptop).status_code == 200


def test_ending_this_session_signs_out_here(app, db):
    laptop = _browser(app, CHROME_MAC)
    with laptop.session_transaction() as session:
        key = sessions.parse_token(session["_user_id"]).key
    response = _post(laptop, "/account/sessions/end", {"session": key})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _get(laptop).status_code == 302


def test_another_users_session_cannot_be_ended(app, db):
    laptop = _browser(app, CHROME_MAC)
    other = _browser(app, SAFARI_IPHONE, email="admin@hope.example.org")
    with other.session_transaction() as session:
        other_key = sessions.parse_token(session["_user_id"]).key
    assert _post(laptop, "/account/sessions/end", {"session": other_key}).status_code == 404
    assert _get(other).status_code == 200
    listed = _get(laptop, "/account/sessions").get_data(as_text=True)
    assert other_key not in listed


def test_sign_out_forgets_every_session_row(app, db):
    laptop = _browser(app, CHROME_MAC)
    _browser(app, SAFARI_IPHONE)
    user_id = sessions.parse_token(_token(laptop)).user_id
    _post(laptop, "/logout")
    assert not db.session.scalars(select(UserSession).where(UserSession.user_id == user_id)).all()


def _token(client):
    with client.session_transaction() as session:
        return session["_user_id"]


def test_last_seen_is_written_only_when_due(app, db):
    laptop = _browser(app, CHROME_MAC)
    key = sessions.parse_token(_token(laptop)).key
    writes: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.startswith("UPDATE user_sessions") and "last_seen_at <" in statement:
            writes.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            assert _get(laptop).status_code == 200
        assert writes == []  # just signed in: nothing due
        row = db.session.get(UserSession, key)
        row.last_seen_at = row.last_seen_at - 2 * sessions.SEEN_EVERY
        db.session.commit()
        for _ in range(3):
            assert _get(laptop).status_code == 200
        assert len(writes) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_the_page_needs_a_sign_in(client):
    response = client.get("/account/sessions")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("agent", "shown"),
    [
        (CHROME_MAC, "Chrome on macOS"),
        (SAFARI_IPHONE, "Safari on iPhone"),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0", "Firefox on Windows"),
        ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 Edg/126.0", "Edge on Windows"),
        ("", "Unknown browser"),
    ],
)
def test_devices_are_described_roughly(agent, shown):
    assert sessions.describe(agent) == shown


def test_networks_hide_the_host():
    assert sessions.network("203.0.113.77") == "203.0.113.x"
    assert sessions.network("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert sessions.network(None) == "unknown place"


def test_checking_the_session_costs_no_query_once_remembered(app, db):
    laptop = _browser(app, CHROME_MAC)
    reads: list[str] = []

    def count(conn, cursor, statement, *args):
        if "user_sessions" in statement or "FROM users" in statement:
            reads.append(statement)

    assert _get(laptop).status_code == 200  # this process learns the user's church
    assert _get(laptop).status_code == 200  # and remembers the identity with its live sessions
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            assert _get(laptop).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert reads == []


def test_a_sign_in_in_the_same_transaction_as_a_new_password_carries_the_new_version(app, db, person):
    from flask import session as cookie_session
    from flask_login import login_user

    from app.auth.services import hash_password

    before = person.session_version
    person.password_hash = hash_password("a brand new password")
    with app.test_request_context("/"):
        login_user(person)
        token = sessions.parse_token(cookie_session["_user_id"])
    assert token.version == person.session_version == before + 1
    assert db.session.get(UserSession, token.key).session_version == token.version
