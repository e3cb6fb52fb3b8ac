"""The composer's live checks: limited per user, and searched with what was typed taken literally."""

from __future__ import annotations

from app.models import Member

HX = {"HX-Request": "true"}


def test_composer_checks_are_limited_per_user_not_per_address(app, client, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "COMPOSER_RATE_LIMIT", "3 per minute")
    login_as("owner")
    for _ in range(3):
        assert client.get("/broadcasts/new/members?q=Jo", headers=HX).status_code == 200
    limited = client.get("/broadcasts/new/members?q=Jo", headers=HX)
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    # Each live check has its own budget: the counter still answers.
    assert client.post("/broadcasts/new/counter", data={"body": "Hi"}, headers=HX).status_code == 200
    # Someone else in the same church, from the same address, is not held back.
    login_as("admin")
    assert client.get("/broadcasts/new/members?q=Jo", headers=HX).status_code == 200


def test_member_search_takes_percent_and_underscore_literally(client, login_as, db, church):
    login_as("owner")
    db.session.add(Member(church_id=church.id, first_name="Zacchaeus", phone_e164="+13125558887"))
    db.session.flush()
    for q in ("%%", "__", "%a"):
        html = client.get("/broadcasts/new/members", query_string={"q": q}, headers=HX).get_data(as_text=True)
        assert 'name="member_ids"' not in html, q
    html = client.get("/broadcasts/new/members?q=Zac", headers=HX).get_data(as_text=True)
    assert "Zacchaeus" in html
