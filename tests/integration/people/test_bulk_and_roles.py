"""Bulk actions, leader restrictions and the CSV export."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from app.models import Group, GroupLeader, GroupMember, Member

HX = {"HX-Request": "true"}


def _group(db, church, name):
    return db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == name))


def _members(db, church, n=3, prefix="Bulk", base=8800):
    rows = [
        Member(church_id=church.id, first_name=f"{prefix}{i}", last_name="Person", phone_e164=f"+1773555{base + i}")
        for i in range(n)
    ]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def _in_group(db, group, ids):
    stmt = select(GroupMember.member_id).where(GroupMember.group_id == group.id, GroupMember.member_id.in_(ids))
    return set(db.session.scalars(stmt))


def test_bulk_add_and_remove_from_group(client, login_as, db, church):
    login_as("owner")
    choir = Group(church_id=church.id, name="Choir")
    db.session.add(choir)
    people = _members(db, church)
    ids = [str(m.id) for m in people]
    response = client.post(
        "/members/bulk", data={"action": "add_to_group", "group_id": choir.id, "ids": ids, "next": "/members?q=bulk"}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/members?q=bulk"
    assert _in_group(db, choir, [m.id for m in people]) == {m.id for m in people}
    assert "Added 3 members to Choir." in client.get("/members?q=bulk").get_data(as_text=True)
    # Adding again is harmless; removing takes only the chosen ones out.
    client.post("/members/bulk", data={"action": "add_to_group", "group_id": choir.id, "ids": ids})
    client.post("/members/bulk", data={"action": "remove_from_group", "group_id": choir.id, "ids": ids[:2]})
    assert _in_group(db, choir, [m.id for m in people]) == {people[2].id}


def test_ids_that_are_not_ids_are_ignored_not_a_crash(client, login_as, db, church):
    """ "²" passes str.isdigit() and int() refuses it; so does a number of 5,000 digits."""
    login_as("owner")
    choir = Group(church_id=church.id, name="Choir")
    db.session.add(choir)
    person = _members(db, church, 1, "Odd")[0]
    ids = [str(person.id), "\u00b2", "9" * 5000]
    response = client.post("/members/bulk", data={"action": "add_to_group", "group_id": choir.id, "ids": ids})
    assert response.status_code == 302
    assert _in_group(db, choir, [person.id]) == {person.id}
    response = client.post(f"/groups/{choir.id}/members", data={"ids": ["\u00b2", "9" * 5000]})
    assert response.status_code < 500


def test_bulk_delete_needs_confirmation(client, login_as, db, church):
    login_as("owner")
    people = _members(db, church, 2, "Doomed")
    ids = [str(m.id) for m in people]
    confirm = client.post("/members/bulk", data={"action": "delete", "ids": ids})
    assert confirm.status_code == 200
    html = confirm.get_data(as_text=True)
    assert "Delete 2 members?" in html and "Doomed0 Person" in html and 'name="confirm" value="yes"' in html
    assert db.session.get(Member, people[0].id) is not None
    done = client.post("/members/bulk", data={"action": "delete", "ids": ids, "confirm": "yes"})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Member, people[0].id) is None


def test_bulk_ignores_other_churches_members(client, login_as, db, church, other_church):
    login_as("owner")
    theirs = db.session.scalar(select(Member).where(Member.church_id == other_church.id))
    youth = _group(db, church, "Youth")
    client.post("/members/bulk", data={"action": "add_to_group", "group_id": youth.id, "ids": [str(theirs.id)]})
    client.post("/members/bulk", data={"action": "delete", "ids": [str(theirs.id)], "confirm": "yes"})
    db.session.expire_all()
    assert db.session.get(Member, theirs.id) is not None
    assert not _in_group(db, youth, [theirs.id])


def test_bulk_without_selection_says_so(client, login_as):
    login_as("owner")
    response = client.post("/members/bulk", data={"action": "add_to_group"}, follow_redirects=True)
    assert "Select at least one member." in response.get_data(as_text=True)


def _led_and_other(db, church):
    youth = _group(db, church, "Youth")
    led = set(db.session.scalars(select(GroupMember.member_id).where(GroupMember.group_id == youth.id)))
    other = db.session.scalar(select(Member.id).where(Member.church_id == church.id, Member.id.not_in(led)))
    return youth, led, other


def test_leader_sees_only_members_of_groups_they_lead(client, login_as, db, church):
    login_as("leader")
    _, led, other = _led_and_other(db, church)
    html = client.get("/members").get_data(as_text=True)
    shown = {int(i) for i in re.findall(r'<td><a href="/members/(\d+)"', html)}
    assert shown and shown <= led
    assert 'name="ids"' not in html and "New member" not in html and "Export CSV" not in html
    assert client.get(f"/members/{other}").status_code == 403
    assert client.get(f"/members/{next(iter(led))}").status_code == 200
    # The total is of their members, counted from the memberships of the groups they lead.
    assert f'<span id="member-count">{len(led):,} members</span>' in html


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/members/new"),
        ("post", "/members/new"),
        ("get", "/members/{id}/edit"),
        ("post", "/members/{id}/edit"),
        ("post", "/members/{id}/delete"),
        ("post", "/members/bulk"),
        ("get", "/members/export.csv"),
        ("post", "/groups/new"),
        ("post", "/groups/{group}/delete"),
        ("get", "/settings"),
    ],
)
def test_leader_gets_403_for_changes(client, login_as, db, church, method, path):
    login_as("leader")
    youth, led, _ = _led_and_other(db, church)
    url = path.format(id=next(iter(led)), group=youth.id)
    response = getattr(client, method)(url, data={"action": "delete", "ids": [str(i) for i in led], "confirm": "yes"})
    assert response.status_code == 403


def test_services_refuse_leaders_too(db, church, login_as):
    from app.errors import PermissionDenied
    from app.people import services

    leader = login_as("leader")
    _, led, _ = _led_and_other(db, church)
    with pytest.raises(PermissionDenied):
        services.bulk_delete(leader, list(led))
    member = db.session.get(Member, next(iter(led)))
    with pytest.raises(PermissionDenied):
        services.delete_member(leader, member)


def test_leader_can_add_a_note_to_their_member_only(client, login_as, db, church):
    login_as("leader")
    _, led, other = _led_and_other(db, church)
    mine = next(iter(led))
    response = client.post(f"/members/{mine}/notes", data={"body": "Asked about the retreat"})
    assert response.status_code == 302
    assert "Asked about the retreat" in db.session.get(Member, mine).notes
    assert client.post(f"/members/{other}/notes", data={"body": "nope"}).status_code == 403
    empty = client.post(f"/members/{mine}/notes", data={"body": ""})
    assert empty.status_code == 422 and "Write the note first." in empty.get_data(as_text=True)


def test_export_streams_the_filtered_list(client, login_as, db, church):
    login_as("owner")
    youth = _group(db, church, "Youth")
    response = client.get(f"/members/export.csv?group={youth.id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    count = select(func.count()).select_from(GroupMember).where(GroupMember.group_id == youth.id)
    expected = db.session.scalar(count)
    assert len(rows) == expected
    assert all("Youth" in r["groups"] for r in rows)
    assert rows[0]["phone"].startswith("+1312555")
    searched = list(csv.DictReader(io.StringIO(client.get("/members/export.csv?q=zzzz-nobody").get_data(as_text=True))))
    assert searched == []


def test_export_neutralises_spreadsheet_formulas(client, login_as, db, church):
    login_as("owner")
    db.session.add(Member(church_id=church.id, first_name="=HYPERLINK(1)", last_name="X", phone_e164="+17735558899"))
    db.session.flush()
    body = client.get("/members/export.csv?q=hyperlink").get_data(as_text=True)
    assert "'=HYPERLINK(1)" in body


def test_export_writes_only_valid_phones(client, login_as, db, church):
    """The phone column is not trusted (inbound numbers come from the provider): a formula never reaches the file."""
    login_as("owner")
    db.session.add_all(
        [
            Member(church_id=church.id, first_name="Trusty", last_name="Phone", phone_e164="+17735558898"),
            Member(church_id=church.id, first_name="Trusty", last_name="Formula", phone_e164="=1+2"),
            Member(church_id=church.id, first_name="Trusty", last_name="Minus", phone_e164="-2+3"),
        ]
    )
    db.session.flush()
    body = client.get("/members/export.csv?q=trusty").get_data(as_text=True)
    rows = {r["last_name"]: r["phone"] for r in csv.DictReader(io.StringIO(body))}
    assert rows == {"Phone": "+17735558898", "Formula": "", "Minus": ""}
    assert "=1+2" not in body and "-2+3" not in body


def test_groups_list_counts_and_leader_view(client, login_as, db, church):
    login_as("owner")
    html = client.get("/groups").get_data(as_text=True)
    assert "Youth" in html and "Worship Team" in html and "Rachel (Youth)" in html


def test_leader_sees_only_the_groups_they_lead(client, login_as, db, church):
    login_as("leader")
    html = client.get("/groups").get_data(as_text=True)
    assert "Youth" in html and "Worship Team" not in html
    worship = _group(db, church, "Worship Team")
    assert client.get(f"/groups/{worship.id}").status_code == 403


def test_group_crud_members_and_leaders(client, login_as, db, church):
    login_as("owner")
    assert client.post("/groups/new", data={"name": ""}).status_code == 422
    dup = client.post("/groups/new", data={"name": "Youth"})
    assert dup.status_code == 422 and "already a group called" in dup.get_data(as_text=True)
    response = client.post("/groups/new", data={"name": "Ushers", "description": "Sunday doors"})
    assert response.status_code == 302
    ushers = _group(db, church, "Ushers")
    page = client.get(f"/groups/{ushers.id}").get_data(as_text=True)
    assert 'id="member-results"' in page and "No members in this group yet" in page  # the same list component
    people = _members(db, church, 2, "Usher")
    found = client.get(f"/groups/{ushers.id}/candidates?q=usher", headers=HX).get_data(as_text=True)
    assert "Usher0 Person" in found and "<html" not in found
    client.post(f"/groups/{ushers.id}/members", data={"ids": [str(m.id) for m in people]})
    page = client.get(f"/groups/{ushers.id}").get_data(as_text=True)
    assert "Usher0 Person" in page and "Usher1 Person" in page
    leader_id = db.session.scalar(select(GroupLeader.user_id).limit(1))
    client.post(f"/groups/{ushers.id}/leaders", data={"user_id": leader_id})
    assert db.session.scalar(select(GroupLeader).where(GroupLeader.group_id == ushers.id)) is not None
    client.post(f"/groups/{ushers.id}/leaders/{leader_id}/delete")
    assert db.session.scalar(select(GroupLeader).where(GroupLeader.group_id == ushers.id)) is None
    client.post(f"/groups/{ushers.id}/edit", data={"name": "Greeters"})
    assert _group(db, church, "Greeters") is not None
    client.post(f"/groups/{ushers.id}/delete")
    assert _group(db, church, "Greeters") is None
    assert db.session.get(Member, people[0].id) is not None
