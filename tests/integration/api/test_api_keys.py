"""API keys: made by owners at /settings/api-keys, shown once, stored hashed, revoked, rotated."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.api.v1 import keys
from app.models.api_keys import ApiKey

KEY = re.compile(r"kn_live_[A-Za-z0-9_-]{43}")


def _keys(db, church):
    return list(db.session.scalars(select(ApiKey).where(ApiKey.church_id == church.id).order_by(ApiKey.id)))


def test_an_owner_makes_a_key_shown_once_and_stored_hashed(client, db, church, login_as):
    login_as("owner")
    response = client.post("/settings/api-keys", data={"name": "Bridge", "scopes": ["read", "members:write"]})
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    secret = KEY.search(response.get_data(as_text=True)).group(0)
    (row,) = _keys(db, church)
    assert row.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in row.key_hash and row.prefix == secret[:12] and row.prefix.startswith("kn_live_")
    assert row.scopes == ["read", "members:write"]
    page = client.get("/settings/api-keys").get_data(as_text=True)
    assert secret not in page and f"{row.prefix}…" in page
    assert client.get("/api/v1/members", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_the_form_keeps_what_was_typed_and_answers_422(client, db, church, login_as):
    login_as("owner")
    response = client.post("/settings/api-keys", data={"name": "Bridge"})
    assert response.status_code == 422
    assert "Choose at least one scope." in response.get_data(as_text=True)
    assert 'value="Bridge"' in response.get_data(as_text=True)
    assert _keys(db, church) == []


def test_only_owners_manage_keys(client, db, login_as):
    login_as("admin")
    assert client.get("/settings/api-keys").status_code == 403
    assert client.post("/settings/api-keys", data={"name": "x", "scopes": ["read"]}).status_code == 403


def test_missing_or_bad_keys_answer_401_in_the_envelope(client, db, make_key):
    secret = make_key()
    for header in (None, "Bearer", "Bearer kn_live_nope", f"Basic {secret}", f"Bearer {secret}x"):
        response = client.get("/api/v1/members", headers={"Authorization": header} if header else {})
        assert response.status_code == 401, header
        assert response.get_json()["error"]["code"] == "unauthorized"
        assert "Set-Cookie" not in response.headers


def test_a_revoked_key_answers_401(client, db, church, login_as, make_key):
    secret = make_key()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/members", headers=headers).status_code == 200
    login_as("owner")
    (row,) = _keys(db, church)
    assert client.post(f"/settings/api-keys/{row.id}/revoke").status_code == 302
    assert client.get("/api/v1/members", headers=headers).status_code == 401


def test_rotation_keeps_the_old_key_working_for_a_day(client, db, church, login_as, make_key):
    old = make_key(["read"])
    login_as("owner")
    (row,) = _keys(db, church)
    response = client.post(f"/settings/api-keys/{row.id}/rotate")
    assert response.status_code == 201
    new = KEY.search(response.get_data(as_text=True)).group(0)
    assert new != old
    old_row, new_row = _keys(db, church)
    assert new_row.scopes == ["read"] and old_row.replaced_by_id == new_row.id
    assert timedelta(hours=23) < old_row.expires_at - datetime.now(UTC) <= timedelta(hours=24)
    for secret in (old, new):
        assert client.get("/api/v1/members", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    # A day later the old key stops; the new one goes on.
    db.session.execute(update(ApiKey).where(ApiKey.id == old_row.id).values(expires_at=datetime.now(UTC)))
    db.session.commit()
    assert client.get("/api/v1/members", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert client.get("/api/v1/members", headers={"Authorization": f"Bearer {new}"}).status_code == 200


def test_a_missing_scope_answers_403(api_as):
    reader = api_as(["read"])
    assert reader.get("/api/v1/members").status_code == 200
    response = reader.post("/api/v1/members", json={"phone": "+13125559876"})
    assert response.status_code == 403
    assert response.get_json()["error"]["details"] == {"scope": "members:write"}
    writer = api_as(["members:write"])
    assert writer.get("/api/v1/members").status_code == 403


def test_last_used_is_written_at_most_once_a_minute(client, db, church, make_key):
    secret = make_key()
    headers = {"Authorization": f"Bearer {secret}"}
    (row,) = _keys(db, church)
    assert row.last_used_at is None
    client.get("/api/v1/members", headers=headers)
    db.session.refresh(row)
    first = row.last_used_at
    assert first is not None
    client.get("/api/v1/members", headers=headers)
    db.session.refresh(row)
    assert row.last_used_at == first  # within the minute: no write
    earlier = first - keys.LAST_USED_EVERY - timedelta(seconds=1)
    db.session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=earlier))
    db.session.commit()
    client.get("/api/v1/members", headers=headers)
    db.session.refresh(row)
    assert row.last_used_at > first


def test_the_settings_page_lists_keys_with_prefix_scopes_and_last_use(client, db, login_as, make_key):
    make_key(["read"], name="Planning bridge")
    login_as("owner")
    page = client.get("/settings/api-keys").get_data(as_text=True)
    assert "Planning bridge" in page and "kn_live_" in page and "Never" in page
