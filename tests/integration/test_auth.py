import re

from app.extensions import csrf


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
