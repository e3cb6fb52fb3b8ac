"""Settings: the index, branches and their sending numbers."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Branch, Member


def _branch(db, church, name):
    return db.session.scalar(select(Branch).where(Branch.church_id == church.id, Branch.name == name))


def test_settings_index_lists_the_branches_section(client, login_as):
    login_as("owner")
    html = client.get("/settings").get_data(as_text=True)
    assert "Branches and numbers" in html and 'href="/settings/branches"' in html
    assert "Downtown" in client.get("/settings/branches").get_data(as_text=True)


def test_branch_create_edit_delete(client, login_as, db, church):
    login_as("owner")
    assert client.post("/settings/branches/new", data={"name": ""}).status_code == 422
    dup = client.post("/settings/branches/new", data={"name": "Downtown"})
    assert dup.status_code == 422 and "already a branch called" in dup.get_data(as_text=True)
    assert client.post("/settings/branches/new", data={"name": "Westside", "address": "1 Main St"}).status_code == 302
    west = _branch(db, church, "Westside")
    client.post(f"/settings/branches/{west.id}/edit", data={"name": "West Campus"})
    assert _branch(db, church, "West Campus") is not None
    member = Member(church_id=church.id, first_name="Stay", phone_e164="+17735557001", branch_id=west.id)
    db.session.add(member)
    db.session.flush()
    assert "Delete the branch" in client.get(f"/settings/branches/{west.id}/delete").get_data(as_text=True)
    assert client.post(f"/settings/branches/{west.id}/delete").status_code == 302
    db.session.expire_all()
    assert _branch(db, church, "West Campus") is None
    assert db.session.get(Member, member.id).branch_id is None


def test_leaders_are_kept_out(client, login_as):
    login_as("leader")
    assert client.get("/settings/branches").status_code == 403


def test_other_churches_branches_are_not_found(client, login_as, db, church):
    downtown = _branch(db, church, "Downtown")
    login_as("hope")
    assert client.get(f"/settings/branches/{downtown.id}/edit").status_code == 404


def test_an_over_long_sending_number_is_refused_before_it_is_parsed(client, login_as):
    login_as("owner")
    data = {"e164": "3" * 10_000, "number_type": "long_code", "branch_id": 0}
    r = client.post("/settings/numbers/new", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "At most 40 characters." in html and "wrong number of digits" not in html
