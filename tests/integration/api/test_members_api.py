"""/api/v1/members: the contract shape, CRUD, upsert by phone, cursor pages, filters, consent, 422."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from app.models import ConsentEvent, Group, GroupMember, Member

FIELDS = {"id", "first_name", "last_name", "phone", "email", "opted_out", "custom_fields"}


def test_a_member_is_exactly_the_contract(api, db, church):
    response = api.post("/api/v1/members", json={"first_name": "Ada", "last_name": "Obi", "phone": "(312) 555-0142"})
    assert response.status_code == 201
    data = response.get_json()["data"]
    assert set(data) == FIELDS
    assert data["phone"] == "+13125550142" and data["opted_out"] is False and data["email"] is None
    fetched = api.get(f"/api/v1/members/{data['id']}").get_json()
    assert fetched == {"data": data}
    member = db.session.get(Member, data["id"])
    assert member.church_id == church.id and member.consent_source == "api"
    event = db.session.scalar(select(ConsentEvent).where(ConsentEvent.member_id == member.id))
    assert event.source == "api" and event.action == "opt_in" and "Test key" in event.detail


def test_update_changes_only_what_is_sent_and_keeps_groups(api, db, church):
    member_id = api.post("/api/v1/members", json={"first_name": "Ada", "phone": "+13125550143"}).get_json()["data"][
        "id"
    ]
    group = db.session.scalar(select(Group).where(Group.church_id == church.id).limit(1))
    db.session.add(GroupMember(church_id=church.id, group_id=group.id, member_id=member_id))
    db.session.commit()
    response = api.patch(f"/api/v1/members/{member_id}", json={"last_name": "Lovelace", "email": "ADA@Example.org"})
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert (data["first_name"], data["last_name"], data["email"]) == ("Ada", "Lovelace", "ada@example.org")
    assert data["phone"] == "+13125550143"
    in_group = select(GroupMember).where(GroupMember.member_id == member_id, GroupMember.group_id == group.id)
    assert db.session.scalar(in_group) is not None


def test_upsert_finds_by_phone_in_any_format(api, db, church):
    first = api.post("/api/v1/members/upsert", json={"first_name": "Ada", "phone": "312.555.0144"})
    assert first.status_code == 201
    again = api.post("/api/v1/members/upsert", json={"first_name": "Adaeze", "phone": "+1 (312) 555-0144"})
    assert again.status_code == 200
    assert again.get_json()["data"]["id"] == first.get_json()["data"]["id"]
    assert again.get_json()["data"]["first_name"] == "Adaeze"
    count = (
        select(func.count())
        .select_from(Member)
        .where(Member.church_id == church.id, Member.phone_e164 == "+13125550144")
    )
    assert db.session.scalar(count) == 1
    # What an upsert does not send stays as it was.
    kept = api.post("/api/v1/members/upsert", json={"phone": "3125550144", "email": "ada@example.org"})
    assert kept.get_json()["data"]["first_name"] == "Adaeze"
    assert kept.get_json()["data"]["email"] == "ada@example.org"


def test_a_taken_number_answers_409(api):
    taken = api.post("/api/v1/members", json={"phone": "+13125550145"}).get_json()["data"]["id"]
    response = api.post("/api/v1/members", json={"phone": "312-555-0145"})
    assert response.status_code == 409
    assert response.get_json()["error"] == {
        "code": "conflict",
        "message": "This number already belongs to another member.",
        "details": {"member_id": taken},
    }
    other = api.post("/api/v1/members", json={"phone": "+13125550155"}).get_json()["data"]["id"]
    assert api.patch(f"/api/v1/members/{other}", json={"phone": "(312) 555-0145"}).status_code == 409
    assert api.get(f"/api/v1/members/{other}").get_json()["data"]["phone"] == "+13125550155"


def test_a_body_past_the_api_limit_answers_413(api):
    response = api.post("/api/v1/members", json={"phone": "+13125550156", "first_name": "x" * 300_000})
    assert response.status_code == 413


def test_delete(api, db):
    member_id = api.post("/api/v1/members", json={"phone": "+13125550146"}).get_json()["data"]["id"]
    response = api.delete(f"/api/v1/members/{member_id}")
    assert response.status_code == 204
    assert api.get(f"/api/v1/members/{member_id}").status_code == 404


def test_422_names_each_field(api):
    response = api.post("/api/v1/members", json={"first_name": "x" * 101, "email": "not-an-email"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["details"]) == {"first_name", "email", "phone"}
    bad_phone = api.post("/api/v1/members", json={"phone": "12"})
    assert bad_phone.status_code == 422
    assert list(bad_phone.get_json()["error"]["details"]) == ["phone"]
    assert api.get("/api/v1/members?limit=1000").get_json()["error"]["details"].keys() == {"limit"}
    assert api.get("/api/v1/members?cursor=nonsense").get_json()["error"]["details"].keys() == {"cursor"}


def test_cursor_pages_walk_every_member_once(api, db, church):
    total = db.session.scalar(select(func.count()).select_from(Member).where(Member.church_id == church.id))
    seen, cursor, pages = [], None, 0
    while True:
        response = api.get("/api/v1/members?limit=7" + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200
        body = response.get_json()
        assert len(body["data"]) <= 7
        seen += [m["id"] for m in body["data"]]
        cursor, pages = body["next_cursor"], pages + 1
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == total
    assert seen == sorted(seen) and pages == -(-total // 7)


def test_filters_group_opted_out_and_updated_since(api, db, church):
    group = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Youth"))
    in_youth = set(db.session.scalars(select(GroupMember.member_id).where(GroupMember.group_id == group.id)))
    listed = {m["id"] for m in api.get(f"/api/v1/members?group={group.id}&limit=100").get_json()["data"]}
    assert listed == in_youth and listed

    some = db.session.scalar(select(Member.id).where(Member.church_id == church.id).order_by(Member.id).limit(1))
    db.session.execute(update(Member).where(Member.id == some).values(opted_out_at=datetime.now(UTC)))
    db.session.commit()
    opted = api.get("/api/v1/members?opted_out=true&limit=100").get_json()["data"]
    assert some in {m["id"] for m in opted} and all(m["opted_out"] for m in opted)
    subscribed = api.get("/api/v1/members?opted_out=false&limit=100").get_json()["data"]
    assert some not in {m["id"] for m in subscribed}

    past = datetime.now(UTC) - timedelta(days=3650)
    db.session.execute(update(Member).where(Member.church_id == church.id).values(updated_at=past))
    db.session.commit()
    fresh = api.post("/api/v1/members", json={"phone": "+13125550147"}).get_json()["data"]["id"]
    since = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    recent = api.get("/api/v1/members", query_string={"updated_since": since}).get_json()["data"]
    assert [m["id"] for m in recent] == [fresh]


def test_consent_history(api, db, church):
    member_id = api.post("/api/v1/members", json={"phone": "+13125550148"}).get_json()["data"]["id"]
    db.session.add(
        ConsentEvent(church_id=church.id, member_id=member_id, action="opt_out", source="keyword", keyword="STOP")
    )
    db.session.commit()
    body = api.get(f"/api/v1/members/{member_id}/consent").get_json()
    assert [(e["action"], e["source"], e["keyword"]) for e in body["data"]] == [
        ("opt_in", "api", None),
        ("opt_out", "keyword", "STOP"),
    ]
    assert body["next_cursor"] is None


def test_no_cookie_session_and_no_csrf(app, api):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = api.post("/api/v1/members", json={"phone": "+13125550149"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 201
    assert "Set-Cookie" not in response.headers
