"""/api/v1/members: `custom_fields` read and written, checked against the church's definitions."""

from __future__ import annotations

from app.people import custom_fields as cf
from tests.integration.custom_fields.conftest import fields  # noqa: F401


def test_custom_fields_are_written_and_read_typed(api, db, church, fields):  # noqa: F811
    db.session.commit()
    body = {
        "first_name": "Ada",
        "phone": "(312) 555-0142",
        "custom_fields": {"campus": "north", "birthday": "1990-03-14", "kids": 2, "shirt": "M"},
    }
    created = api.post("/api/v1/members", json=body)
    assert created.status_code == 201
    data = created.get_json()["data"]
    assert data["custom_fields"] == {"campus": "North", "birthday": "1990-03-14", "kids": 2, "shirt": "M"}
    patched = api.patch(f"/api/v1/members/{data['id']}", json={"custom_fields": {"kids": 2.5, "shirt": None}})
    assert patched.get_json()["data"]["custom_fields"] == {"campus": "North", "birthday": "1990-03-14", "kids": 2.5}
    listed = api.get("/api/v1/members?limit=100").get_json()["data"]
    assert next(m for m in listed if m["id"] == data["id"])["custom_fields"]["campus"] == "North"
    assert all(m["custom_fields"] == {} for m in listed if m["id"] != data["id"])


def test_bad_custom_values_answer_422_by_key_and_change_nothing(api, db, church, fields):  # noqa: F811
    db.session.commit()
    body = {
        "phone": "(312) 555-0143",
        "custom_fields": {"campus": "West", "birthday": "soon", "kids": "lots", "nope": 1, "shirt": {"a": 1}},
    }
    response = api.post("/api/v1/members", json=body)
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]["custom_fields"]
    assert set(details) == {"campus", "birthday", "kids", "nope", "shirt"}
    assert details["nope"] == ["Not a member field of this church."]
    assert api.post("/api/v1/members/upsert", json=body).status_code == 422


def test_another_churchs_fields_are_neither_shown_nor_writable(api_as, db, church, other_church, fields):  # noqa: F811
    cf.create_field(other_church.id, name="Secret", key="secret", type="text", choices=[])
    db.session.commit()
    grace = api_as()
    response = grace.post("/api/v1/members", json={"phone": "(312) 555-0144", "custom_fields": {"secret": "x"}})
    assert response.status_code == 422
    hope = api_as(church="hope")
    made = hope.post("/api/v1/members", json={"phone": "(312) 555-0145", "custom_fields": {"campus": "North"}})
    assert made.status_code == 422  # Grace's campus is no field of Hope's
    made = hope.post("/api/v1/members", json={"phone": "(312) 555-0145", "custom_fields": {"secret": "x"}})
    assert made.get_json()["data"]["custom_fields"] == {"secret": "x"}
