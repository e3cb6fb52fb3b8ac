"""The account page: profile and password change."""

from __future__ import annotations

from flask import g

from app.auth.services import authenticate

NEW = "a brand new passphrase"


def test_the_page_shows_the_profile(client, login_as):
    login_as("owner")
    response = client.get("/account")
    assert response.status_code == 200
    assert "admin@example.org" in response.get_data(as_text=True)


def test_the_page_needs_sign_in(client):
    response = client.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_name_is_saved_and_an_empty_one_refused(client, db, login_as):
    user = login_as("owner")
    assert client.post("/account/profile", data={"name": "Ruth Owner"}).status_code == 302
    db.session.refresh(user)
    assert user.name == "Ruth Owner"
    response = client.post("/account/profile", data={"name": "x" * 201})
    assert response.status_code == 422 and 'id="name-error"' in response.get_data(as_text=True)


def test_changing_the_password_needs_the_current_one(client, db, login_as, mailbox):
    login_as("owner")
    response = client.post("/account/password", data={"current": "wrong-one!", "password": NEW, "confirm": NEW})
    assert response.status_code == 422 and 'id="current-error"' in response.get_data(as_text=True)
    weak = client.post("/account/password", data={"current": "koinonia-demo", "password": "abc", "confirm": "abc"})
    assert weak.status_code == 422 and 'id="password-error"' in weak.get_data(as_text=True)
    assert authenticate("admin@example.org", "koinonia-demo") is not None


def test_a_changed_password_keeps_this_session_and_ends_the_others(app, client, db, mailbox):
    other = app.test_client()
    for c in (client, other):
        assert c.post("/login", data={"email": "admin@example.org", "password": "koinonia-demo"}).status_code == 302
    response = client.post("/account/password", data={"current": "koinonia-demo", "password": NEW, "confirm": NEW})
    assert response.status_code == 302
    g.pop("_login_user", None)
    assert client.get("/account").status_code == 200
    g.pop("_login_user", None)
    assert other.get("/account").status_code == 302
    assert authenticate("admin@example.org", NEW) is not None


def test_password_and_two_factor_changes_are_in_the_audit_log(client, db, login_as):
    import time

    import pyotp
    from sqlalchemy import select

    from app.auth.two_factor import services as two_factor
    from app.models import AuditLog

    owner = login_as("owner")
    response = client.post("/account/password", data={"current": "koinonia-demo", "password": NEW, "confirm": NEW})
    assert response.status_code == 302
    secret = two_factor.start_totp_setup(owner)
    assert two_factor.confirm_totp(owner, pyotp.TOTP(secret).now(), now=time.time())
    two_factor.disable_totp(owner)
    db.session.commit()
    rows = db.session.execute(
        select(AuditLog.action, AuditLog.detail).where(AuditLog.church_id == owner.church_id).order_by(AuditLog.id)
    ).all()
    assert ("auth.password_changed", None) in [(a, d or None) for a, d in rows]
    assert [d for a, d in rows if a == "auth.two_factor_changed"] == [{"app": "on"}, {"app": "off"}]
