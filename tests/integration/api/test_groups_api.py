"""/api/v1/groups: list, create, bulk add and remove (bounded, set-based, own church only)."""

from __future__ import annotations

from sqlalchemy import select

from app.models import GroupMember, Member


def test_create_and_list_groups(api):
    response = api.post("/api/v1/groups", json={"name": "Choir", "description": "Sunday choir"})
    assert response.status_code == 201
    group = response.get_json()["data"]
    assert set(group) == {"id", "name", "description"} and group["name"] == "Choir"
    names = [g["name"] for g in api.get("/api/v1/groups?limit=100").get_json()["data"]]
    assert "Choir" in names and "Youth" in names
    assert api.get(f"/api/v1/groups/{group['id']}").get_json() == {"data": group}
    assert api.post("/api/v1/groups", json={"name": "Choir"}).status_code == 409
    assert api.post("/api/v1/groups", json={}).get_json()["error"]["details"].keys() == {"name"}


def test_bulk_add_and_remove_members(api, db, church, other_church):
    group_id = api.post("/api/v1/groups", json={"name": "Ushers"}).get_json()["data"]["id"]
    ours = list(db.session.scalars(select(Member.id).where(Member.church_id == church.id).order_by(Member.id).limit(5)))
    theirs = db.session.scalar(select(Member.id).where(Member.church_id == other_church.id).limit(1))
    response = api.post(f"/api/v1/groups/{group_id}/members", json={"member_ids": [*ours, theirs]})
    assert response.status_code == 200
    assert response.get_json() == {"data": {"changed": 5}}  # Hope's member is ignored
    again = api.post(f"/api/v1/groups/{group_id}/members", json={"member_ids": ours[:2]})
    assert again.get_json() == {"data": {"changed": 0}}
    members = set(db.session.scalars(select(GroupMember.member_id).where(GroupMember.group_id == group_id)))
    assert members == set(ours)
    removed = api.post(f"/api/v1/groups/{group_id}/members/remove", json={"member_ids": ours[:3]})
    assert removed.get_json() == {"data": {"changed": 3}}
    listed = api.get(f"/api/v1/members?group={group_id}").get_json()["data"]
    assert [m["id"] for m in listed] == ours[3:]


def test_bulk_lists_are_bounded(api):
    group_id = api.post("/api/v1/groups", json={"name": "Big"}).get_json()["data"]["id"]
    too_many = api.post(f"/api/v1/groups/{group_id}/members", json={"member_ids": list(range(1, 1002))})
    assert too_many.status_code == 422
    assert too_many.get_json()["error"]["details"].keys() == {"member_ids"}
    empty = api.post(f"/api/v1/groups/{group_id}/members", json={"member_ids": []})
    assert empty.status_code == 422


def test_a_key_lists_only_its_own_church(api_as, db, church, other_church):
    hope = api_as(church="hope")
    members = hope.get("/api/v1/members?limit=100").get_json()["data"]
    theirs = set(db.session.scalars(select(Member.id).where(Member.church_id == other_church.id)))
    assert members and {m["id"] for m in members} <= theirs
    group_ids = {g["id"] for g in hope.get("/api/v1/groups?limit=100").get_json()["data"]}
    grace_group = api_as().post("/api/v1/groups", json={"name": "Grace only"}).get_json()["data"]["id"]
    assert grace_group not in group_ids
    assert hope.get(f"/api/v1/groups/{grace_group}").status_code == 404
    assert (
        hope.post(f"/api/v1/groups/{grace_group}/members", json={"member_ids": [members[0]["id"]]}).status_code == 404
    )
