import re

import pytest
from flask import g

from app import cache
from app.auth.services import find_user_by_email, hash_password
from app.extensions import csrf


@pytest.fixture
def cached_identity(app):
    """A process that has not remembered anyone yet, as in production (the cache stays on)."""
    cache.forget_local()
    yield
    cache.forget_local()


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Sign in to Koinonia" in response.data


def test_owner_signs_in_and_sees_the_church(client):
    response = client.post("/login", data={"email": "admin@example.org", "password": "koinonia-demo"})
    assert response.status_code == 302
    page = client.get("/")
    assert page.status_code == 200
    assert b"Grace Community Church" in page.data


def test_wrong_password_shows_error_by_the_field_and_keeps_the_email(client):
    response = client.post("/login", data={"email": "admin@example.org", "password": "nope"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "do not match" in html
    assert 'value="admin@example.org"' in html


def test_sixth_wrong_password_is_rate_limited_with_retry_after(client):
    for _ in range(5):
        assert client.post("/login", data={"email": "admin@example.org", "password": "x"}).status_code == 422
    response = client.post("/login", data={"email": "admin@example.org", "password": "x"})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many attempts" in response.get_data(as_text=True)


def test_rate_limit_is_per_email(client):
    for _ in range(6):
        client.post("/login", data={"email": "admin@example.org", "password": "x"})
    other = client.post("/login", data={"email": "leader@example.org", "password": "koinonia-demo"})
    assert other.status_code == 302


def test_pages_require_sign_in(client):
    response = client.get("/members")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_logout_is_post_only(client, login_as):
    login_as("owner")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_post_without_csrf_token_gets_a_400_page(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/login", data={"email": "admin@example.org", "password": "koinonia-demo"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)


def test_csrf_token_is_in_hx_headers_on_body(app, client, login_as):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        login_as("owner")
        html = client.get("/").get_data(as_text=True)
        assert re.search(r"<body hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'", html)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_leader_gets_403_on_owner_pages(client, login_as):
    login_as("leader")
    assert client.get("/billing").status_code == 403
    assert client.get("/settings").status_code == 403


def test_session_cookie_flags(client):
    response = client.post("/login", data={"email": "admin@example.org", "password": "koinonia-demo"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_csrf_protect_is_installed():
    assert csrf is not None


def test_login_as_switches_users_within_one_test(client, login_as):
    login_as("owner")
    assert client.get("/billing").status_code == 200
    login_as("leader")
    assert client.get("/billing").status_code == 403


def _copy_of(client, app):
    """Another browser holding a copy of this client's cookies (a stolen or synced cookie jar)."""
    thief = app.test_client()
    for name in ("session", "remember_token"):
        cookie = client.get_cookie(name)
        if cookie is not None:
            thief.set_cookie(name, cookie.value)
    return thief


def _as_a_new_request(client, path="/"):
    g.pop("_login_user", None)  # the test shares one app context; a real request starts without it
    return client.get(path)


def _sign_in(client, email="admin@example.org", remember=False):
    data = {"email": email, "password": "koinonia-demo"}
    if remember:
        data["remember"] = "y"
    assert client.post("/login", data=data).status_code == 302


def test_sign_in_starts_a_fresh_session(client):
    with client.session_transaction() as session:
        session["planted"] = "by whoever used this browser before"
    _sign_in(client)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert "_user_id" in session


def test_a_copied_session_cookie_stops_working_at_sign_out(app, client, cached_identity):
    _sign_in(client)
    thief = _copy_of(client, app)
    assert _as_a_new_request(thief).status_code == 200
    assert client.post("/logout").status_code == 302
    response = _as_a_new_request(thief)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_a_remember_me_cookie_stops_working_at_sign_out(app, client, cached_identity):
    _sign_in(client, remember=True)
    thief = app.test_client()
    thief.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert _as_a_new_request(thief).status_code == 200  # the cookie alone signs in
    client.post("/logout")
    thief.delete_cookie("session")
    assert _as_a_new_request(thief).status_code == 302


def test_a_role_change_ends_the_users_sessions(app, client, db, cached_identity):
    _sign_in(client, "leader@example.org")
    assert _as_a_new_request(client).status_code == 200
    user = find_user_by_email("leader@example.org")
    user.role = "admin"
    db.session.commit()
    assert _as_a_new_request(client).status_code == 302


def test_a_cookie_without_a_session_version_signs_no_one_in(client, login_as):
    user = login_as("owner")
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)  # what sessions held before versions
    assert _as_a_new_request(client).status_code == 302


def test_signing_in_again_after_sign_out_works(client):
    _sign_in(client)
    client.post("/logout")
    _sign_in(client)
    assert _as_a_new_request(client).status_code == 200


def test_a_new_password_ends_remember_me_cookies(app, client, db, cached_identity):
    _sign_in(client, remember=True)
    thief = app.test_client()
    thief.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert _as_a_new_request(thief).status_code == 200
    find_user_by_email("admin@example.org").password_hash = hash_password("a new password")
    db.session.commit()
    thief.delete_cookie("session")
    assert _as_a_new_request(thief).status_code == 302


def test_deactivation_ends_remember_me_cookies_for_good(app, client, db, cached_identity):
    _sign_in(client, remember=True)
    cookie = client.get_cookie("remember_token").value
    user = find_user_by_email("admin@example.org")
    user.active = False
    db.session.commit()
    user.active = True  # reactivated: the old cookie still names the old version
    db.session.commit()
    thief = app.test_client()
    thief.set_cookie("remember_token", cookie)
    assert _as_a_new_request(thief).status_code == 302
