"""CSV import maps columns to custom fields; a bad value fails its row, the good rows import."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.models import Member
from app.people import custom_fields as cf
from app.people.imports import services as import_services
from tests.integration.imports.conftest import make_import, run_import, run_worker  # noqa: F401

DATA = (
    b"First name,Phone,Campus,Birthday,Kids\n"
    b"Ann,(312) 555-0901,North,1990-03-14,2\n"
    b"Bob,(312) 555-0902,Westside,1991-04-01,1\n"
    b"Cat,(312) 555-0903,south,14/03/1990,0\n"
    b"Dan,(312) 555-0904,,,\n"
    b"Eve,(312) 555-0905,South,03/01/1985,many\n"
)


def _values(db, church, first_name):
    member = db.session.scalar(select(Member).where(Member.church_id == church.id, Member.first_name == first_name))
    return None if member is None else cf.member_values(church.id, [member.id])[member.id]


def test_headers_named_like_fields_are_mapped_and_bad_values_are_bad_rows(db, church, fields, run_import):  # noqa: F811
    imp = run_import(DATA)
    assert {"custom:campus": 2, "custom:birthday": 3, "custom:kids": 4}.items() <= imp.mapping.items()
    assert "branch" not in imp.mapping  # "Campus" is the church's own field, not the branch column
    assert (imp.imported, imp.failed) == (2, 3)
    reasons = {f["row"]: f["reason"] for f in imp.failures}
    assert reasons[3] == "Campus: Choose one of: North, South."
    assert reasons[4].startswith("Birthday: Enter a date")
    assert reasons[6].startswith("Children: Enter a number")
    assert _values(db, church, "Ann") == {"campus": "North", "birthday": date(1990, 3, 14), "kids": 2}
    assert _values(db, church, "Dan") == {}
    assert _values(db, church, "Bob") is None
    assert "Campus: Choose one of" in import_services.failures_csv(imp)


def test_the_preview_offers_custom_fields_and_the_posted_mapping_is_used(client, login_as, db, church, fields):
    owner = login_as("owner")
    data = b"Name,Mobile,Site\nZed,(312) 555-0911,North\nYan,(312) 555-0912,Nowhere\n"
    imp = import_services.create_draft(church, owner.id, "m.csv", data)
    db.session.flush()
    page = client.get(f"/members/import/{imp.id}").get_data(as_text=True)
    assert 'name="custom_campus"' in page and 'name="custom_birthday"' in page
    form = {"first_name": "0", "phone": "1", "mode": "skip", "consent": "y", "custom_campus": "2", "custom_kids": "99"}
    assert client.post(f"/members/import/{imp.id}", data=form).status_code == 303
    db.session.refresh(imp)
    assert imp.mapping.get("custom:campus") == 2 and "custom:kids" not in imp.mapping
    run_worker()
    db.session.expire_all()
    assert _values(db, church, "Zed") == {"campus": "North"}
    assert _values(db, church, "Yan") is None


def test_another_churchs_field_in_a_mapping_is_ignored(db, church, other_church, fields, make_import):  # noqa: F811
    theirs = cf.create_field(other_church.id, name="Secret", key="secret", type="text", choices=[])
    db.session.flush()
    imp = make_import(b"First name,Phone,Secret\nQ,(312) 555-0921,x\n")
    assert "custom:secret" not in imp.mapping
    imp.mapping = {**imp.mapping, "custom:secret": 2}
    assert import_services.custom_columns(imp) == []
    assert theirs.id not in {f.id for f in cf.church_fields(church.id)}
