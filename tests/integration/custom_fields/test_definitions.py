"""Settings → Member fields: define, rename, delete, with field errors, audit and tenancy."""

from __future__ import annotations

from sqlalchemy import select

from app.models import AuditLog, CustomField, Member, MemberFieldValue
from app.people import custom_fields as cf


def _row(db, church, key):
    return db.session.scalar(select(CustomField).where(CustomField.church_id == church.id, CustomField.key == key))


def test_an_admin_defines_renames_and_deletes_a_field(client, login_as, db, church):
    login_as("owner")
    assert 'href="/settings/fields"' in client.get("/settings").get_data(as_text=True)
    r = client.post(
        "/settings/fields/new", data={"name": "Campus", "key": "", "type": "choice", "choices": "North\nSouth\nNorth"}
    )
    assert r.status_code == 302
    row = _row(db, church, "campus")
    assert row.type == "choice" and row.choices == ["North", "South"]
    assert "{campus}" in client.get("/settings/fields").get_data(as_text=True)

    r = client.post(f"/settings/fields/{row.id}/edit", data={"name": "Home campus", "choices": "North\nSouth\nEast"})
    assert r.status_code == 302
    db.session.refresh(row)
    assert (row.name, row.key, row.choices) == ("Home campus", "campus", ["North", "South", "East"])

    member = db.session.scalar(select(Member).where(Member.church_id == church.id).limit(1))
    cf.write_values(church.id, member.id, {row.id: "South"}, cf.church_fields(church.id))
    r = client.post(f"/settings/fields/{row.id}/edit", data={"name": "Home campus", "choices": "North"})
    assert r.status_code == 422 and "Members still have “South”" in r.get_data(as_text=True)

    page = client.get(f"/settings/fields/{row.id}/delete").get_data(as_text=True)
    assert "1 member have a value" in page or "1 member" in page
    assert client.post(f"/settings/fields/{row.id}/delete").status_code == 302
    assert _row(db, church, "campus") is None
    assert db.session.scalar(select(MemberFieldValue).where(MemberFieldValue.member_id == member.id)) is None
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.church_id == church.id)))
    assert {"custom_field.created", "custom_field.changed", "custom_field.deleted"} <= actions


def test_bad_definitions_show_errors_by_field_and_keep_what_was_typed(client, login_as, db, church):
    login_as("owner")
    r = client.post("/settings/fields/new", data={"name": "", "key": "Bad Key!", "type": "choice", "choices": ""})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="name-error"' in html and 'id="key-error"' in html and 'id="choices-error"' in html
    assert 'value="Bad Key!"' in html
    r = client.post("/settings/fields/new", data={"name": "First name", "key": "first_name", "type": "text"})
    assert r.status_code == 422 and "built-in field" in r.get_data(as_text=True)
    too_many = "\n".join(f"Option {i}" for i in range(cf.MAX_CHOICES + 1))
    r = client.post("/settings/fields/new", data={"name": "Big", "type": "choice", "choices": too_many})
    assert r.status_code == 422 and f"At most {cf.MAX_CHOICES} options" in r.get_data(as_text=True)
    client.post("/settings/fields/new", data={"name": "Shirt", "type": "text"})
    r = client.post("/settings/fields/new", data={"name": "Shirt", "type": "text"})
    assert r.status_code == 422 and "already uses this key" in r.get_data(as_text=True)


def test_the_number_of_fields_is_bounded(client, login_as, db, church):
    for i in range(cf.MAX_FIELDS):
        cf.create_field(church.id, name=f"F{i}", key=f"f{i}", type="text", choices=[])
    login_as("owner")
    r = client.post("/settings/fields/new", data={"name": "One more", "type": "text"})
    assert r.status_code == 422 and f"up to {cf.MAX_FIELDS} fields" in r.get_data(as_text=True)


def test_leaders_cannot_define_fields(client, login_as):
    login_as("leader")
    assert client.get("/settings/fields").status_code == 403
    assert client.post("/settings/fields/new", data={"name": "X", "type": "text"}).status_code == 403


def test_another_churchs_field_is_not_found_nor_listed(client, login_as, db, other_church):
    theirs = cf.create_field(other_church.id, name="Their campus", key="campus", type="text", choices=[])
    db.session.flush()
    login_as("owner")
    assert "Their campus" not in client.get("/settings/fields").get_data(as_text=True)
    assert client.get(f"/settings/fields/{theirs.id}/edit").status_code == 404
    assert client.post(f"/settings/fields/{theirs.id}/delete").status_code == 404
    # The same key is free in each church.
    assert client.post("/settings/fields/new", data={"name": "Campus", "type": "text"}).status_code == 302
