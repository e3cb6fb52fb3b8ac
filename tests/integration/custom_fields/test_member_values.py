"""The member page and form show and edit the church's custom fields, typed and validated."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.models import Member
from app.people import custom_fields as cf


def _member(db, church):
    return db.session.scalar(select(Member).where(Member.church_id == church.id, Member.is_unknown.is_(False)).limit(1))


def _form(member, **custom):
    data = {
        "first_name": member.first_name or "A",
        "last_name": member.last_name,
        "phone": member.phone_e164,
        "language": "en",
        "branch_id": 0,
    }
    return data | {f"custom_{k}": v for k, v in custom.items()}


def test_edit_saves_typed_values_and_the_page_shows_them(client, login_as, db, church, fields):
    member = _member(db, church)
    login_as("owner")
    form = client.get(f"/members/{member.id}/edit").get_data(as_text=True)
    assert 'name="custom_campus"' in form and 'type="date"' in form
    r = client.post(
        f"/members/{member.id}/edit",
        data=_form(member, campus="south", birthday="1990-03-14", shirt=" XL ", kids="3"),
    )
    assert r.status_code == 302
    values = cf.member_values(church.id, [member.id])[member.id]
    assert values == {"campus": "South", "birthday": date(1990, 3, 14), "shirt": "XL", "kids": Decimal("3")}
    page = client.get(f"/members/{member.id}").get_data(as_text=True)
    assert "Campus" in page and "South" in page and "1990-03-14" in page
    # Blank clears.
    client.post(f"/members/{member.id}/edit", data=_form(member, campus="", birthday="1990-03-14", shirt="XL", kids=""))
    assert set(cf.member_values(church.id, [member.id])[member.id]) == {"birthday", "shirt"}


def test_bad_values_are_refused_beside_their_field_keeping_what_was_typed(client, login_as, db, church, fields):
    member = _member(db, church)
    login_as("owner")
    r = client.post(
        f"/members/{member.id}/edit",
        data=_form(member, campus="West", birthday="14th of March", shirt="x" * 201, kids="three"),
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    for key in ("campus", "birthday", "shirt", "kids"):
        assert f'id="custom_{key}-error"' in html
    assert 'value="14th of March"' in html and 'value="three"' in html
    assert "Choose one of: North, South." in html
    assert cf.member_values(church.id, [member.id])[member.id] == {}


def test_a_new_member_gets_custom_values(client, login_as, db, church, fields):
    login_as("owner")
    data = {"first_name": "Cora", "phone": "(312) 555-0777", "language": "en", "branch_id": 0, "custom_campus": "North"}
    assert client.post("/members/new", data=data).status_code == 302
    cora = db.session.scalar(select(Member).where(Member.church_id == church.id, Member.first_name == "Cora"))
    assert cf.member_values(church.id, [cora.id])[cora.id] == {"campus": "North"}


def test_another_churchs_fields_never_show_on_a_member(client, login_as, db, church, other_church):
    cf.create_field(other_church.id, name="Secret field", key="secret", type="text", choices=[])
    db.session.flush()
    member = _member(db, church)
    login_as("owner")
    assert "Secret field" not in client.get(f"/members/{member.id}").get_data(as_text=True)
    assert "custom_secret" not in client.get(f"/members/{member.id}/edit").get_data(as_text=True)
