"""The audit log: each audited action writes a row with its change; /settings/audit shows a church its own."""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask import g
from sqlalchemy import func, select

from app import audit
from app.models import AuditLog, Branch, Broadcast, Member, User
from app.people import services as people
from tests.factories import MemberFactory, UserFactory
from tests.factories.tenancy import ChurchFactory


def _events(db, church, action):
    stmt = select(AuditLog).where(AuditLog.church_id == church.id, AuditLog.action == action).order_by(AuditLog.id)
    return list(db.session.scalars(stmt))


def _count(db, action=None):
    stmt = select(func.count()).select_from(AuditLog)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return db.session.scalar(stmt)


def _fresh(client, method, path, **kwargs):
    g.pop("_login_user", None)  # the test shares one app context; a real request starts without it
    return client.open(path, method=method, **kwargs)


# --- signing in ----------------------------------------------------------------------------------


def test_a_sign_in_is_recorded_with_its_address(client, db, church):
    assert client.post("/login", data={"email": "admin@example.org", "password": "koinonia-demo"}).status_code == 302
    [event] = _events(db, church, "auth.sign_in")
    owner = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    assert event.user_id == owner.id and event.ip == "127.0.0.1"


def test_a_failed_sign_in_is_recorded_under_the_accounts_church(client, db, church):
    response = client.post("/login", data={"email": "leader@example.org", "password": "wrong"})
    assert response.status_code == 422
    [event] = _events(db, church, "auth.sign_in_failed")
    assert event.target_type == "user"


def test_a_failed_sign_in_for_an_unknown_address_records_nothing_and_looks_the_same(client, db):
    before = _count(db)
    known = client.post("/login", data={"email": "admin@example.org", "password": "wrong"})
    unknown = client.post("/login", data={"email": "nobody@example.org", "password": "wrong"})
    assert known.status_code == unknown.status_code == 422
    strip = lambda html: re.sub(r'value="[^"]*"', "", html)  # noqa: E731 - the typed email differs
    assert strip(known.get_data(as_text=True)) == strip(unknown.get_data(as_text=True))
    assert _count(db) == before + 1


# --- members -------------------------------------------------------------------------------------


def test_deleting_a_member_is_recorded(client, db, login_as, church):
    login_as("owner")
    member = MemberFactory(church_id=church.id, first_name="Ruth", last_name="Moab", phone_e164="+13125557711")
    assert _fresh(client, "POST", f"/members/{member.id}/delete").status_code == 302
    [event] = _events(db, church, "member.deleted")
    assert event.target_id == member.id and event.detail["name"] == "Ruth Moab"


def test_a_bulk_delete_is_one_row_with_the_count(client, db, login_as, church):
    login_as("owner")
    ids = [MemberFactory(church_id=church.id).id for _ in range(3)]
    data = {"action": "delete", "ids": [str(i) for i in ids], "confirm": "yes"}
    assert _fresh(client, "POST", "/members/bulk", data=data).status_code == 302
    [event] = _events(db, church, "members.deleted")
    assert event.detail["count"] == 3 and sorted(event.detail["ids"]) == sorted(ids)


def test_a_rolled_back_change_leaves_no_audit_row(db, church):
    owner = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    member = MemberFactory(church_id=church.id)
    before = _count(db, "member.deleted")
    savepoint = db.session.begin_nested()
    people.delete_member(owner, member)
    savepoint.rollback()
    assert _count(db, "member.deleted") == before
    assert db.session.get(Member, member.id) is not None


def test_an_export_of_members_is_recorded_with_its_filters(client, db, login_as, church):
    login_as("owner")
    before = len(_events(db, church, "members.exported"))
    response = _fresh(client, "GET", "/members/export.csv?q=%2B13125550142&status=subscribed")
    assert response.status_code == 200
    response.get_data()
    events = _events(db, church, "members.exported")
    assert len(events) == before + 1
    event = events[-1]
    assert event.detail["filters"]["status"] == "subscribed"
    assert event.detail["filters"]["q"] == "+1312*****42"  # a phone number typed in the search is masked


def test_phone_numbers_in_a_detail_are_masked(db, church):
    row = audit.record("member.updated", church_id=church.id, detail={"note": "called +13125550199", "n": [1, 2]})
    db.session.flush()
    assert row.detail == {"note": "called +1312*****99", "n": [1, 2]}


# --- broadcasts ----------------------------------------------------------------------------------


@pytest.fixture
def compose(db, church):
    from app.models import Group

    youth = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Youth"))

    def _compose(**overrides):
        data = {"body": "Youth night Friday", "group_ids": [str(youth.id)], "when": "now", "idempotency_key": "k-1"}
        data.update(overrides)
        return data

    return _compose


def test_a_broadcast_sent_and_cancelled_is_recorded(client, db, login_as, church, compose):
    owner = login_as("owner")
    data = compose(when="later", send_date="2031-01-05", send_time="09:00", idempotency_key="audit-later")
    assert _fresh(client, "POST", "/broadcasts", data=data).status_code == 302
    broadcast = db.session.scalar(select(Broadcast).where(Broadcast.idempotency_key == "audit-later"))
    [sent] = _events(db, church, "broadcast.sent")
    assert sent.target_id == broadcast.id and sent.user_id == owner.id
    assert sent.detail["status"] == "scheduled" and sent.detail["recipients"] == broadcast.recipient_count
    assert _fresh(client, "POST", f"/broadcasts/{broadcast.id}/cancel").status_code == 302
    [cancelled] = _events(db, church, "broadcast.cancelled")
    assert cancelled.target_id == broadcast.id and cancelled.user_id == owner.id


def test_a_broadcast_that_is_refused_records_nothing(client, db, login_as, church, compose):
    login_as("owner")
    before = _count(db, "broadcast.sent")
    response = _fresh(client, "POST", "/broadcasts", data=compose(body="", idempotency_key="audit-empty"))
    assert response.status_code == 422
    assert _count(db, "broadcast.sent") == before


# --- settings and billing ------------------------------------------------------------------------


def test_church_settings_changes_name_the_fields_that_changed(client, db, login_as, church):
    login_as("owner")
    data = {
        "name": "Grace Community Church",
        "timezone": "America/New_York",
        "quiet_hours": "y",
        "quiet_hours_start": "21:00",
        "quiet_hours_end": "08:00",
        "help_text": "Reply STOP to stop. Questions: +13125550123",
    }
    assert _fresh(client, "POST", "/settings/church", data=data).status_code == 302
    [event] = _events(db, church, "settings.changed")
    assert event.detail["section"] == "church"
    assert event.detail["timezone"] == ["America/Chicago", "America/New_York"]
    assert event.detail["help_text"] == "changed"  # named, never copied
    assert "name" not in event.detail


def test_a_new_branch_is_recorded(client, db, login_as, church):
    login_as("owner")
    assert _fresh(client, "POST", "/settings/branches/new", data={"name": "Uptown"}).status_code == 302
    branch = db.session.scalar(select(Branch).where(Branch.church_id == church.id, Branch.name == "Uptown"))
    [event] = _events(db, church, "settings.changed")
    assert (event.target_type, event.target_id) == ("branch", branch.id)
    assert event.detail["change"] == "added"


def test_a_role_change_from_the_command_line_is_recorded(db, church):
    from app.provisioning import upsert_user

    leader = db.session.scalar(select(User).where(User.email == "leader@example.org"))
    upsert_user(church, "leader@example.org", "koinonia-demo", "admin")
    [event] = _events(db, church, "staff.role_changed")
    assert event.target_id == leader.id and event.detail["from"] == "leader" and event.detail["to"] == "admin"


# --- the page ------------------------------------------------------------------------------------


def test_leaders_get_403(client, login_as):
    login_as("leader")
    assert client.get("/settings/audit").status_code == 403
    assert client.get("/settings/audit/export.csv").status_code == 403


def test_the_settings_page_links_to_the_audit_log(client, login_as):
    login_as("admin")
    assert 'href="/settings/audit"' in client.get("/settings").get_data(as_text=True)


def test_another_churchs_events_are_never_shown_or_exported(client, db, login_as, church, other_church):
    audit.record("settings.changed", church_id=other_church.id, detail={"section": "hope-only-marker"})
    audit.record("settings.changed", church_id=church.id, detail={"section": "grace-marker"})
    db.session.commit()
    login_as("owner")
    page = _fresh(client, "GET", "/settings/audit").get_data(as_text=True)
    assert "grace-marker" in page and "hope-only-marker" not in page
    exported = _fresh(client, "GET", "/settings/audit/export.csv").get_data(as_text=True)
    assert "grace-marker" in exported and "hope-only-marker" not in exported
    hope_user = db.session.scalar(select(User).where(User.church_id == other_church.id))
    filtered = _fresh(client, "GET", f"/settings/audit?person={hope_user.id}").get_data(as_text=True)
    assert "hope-only-marker" not in filtered


@pytest.fixture
def quiet_church(db):
    """A church of its own with an owner, so its log holds only what a test writes."""
    church = ChurchFactory()
    owner = UserFactory(church_id=church.id, role="owner", email=f"owner-{church.slug}@example.org", name="Olive Owner")
    admin = UserFactory(church_id=church.id, role="admin", email=f"admin-{church.slug}@example.org", name="Adam Admin")
    return church, owner, admin


def _marks(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"step (\d+)", html)]


def test_pages_follow_each_other_newest_first_without_gaps(client, db, login_as, quiet_church):
    church, owner, _ = quiet_church
    for n in range(120):
        audit.record("settings.changed", church_id=church.id, actor=owner, detail={"section": f"step {n}"})
    db.session.commit()
    login_as(owner.email)
    first = _fresh(client, "GET", "/settings/audit").get_data(as_text=True)
    seen = _marks(first)
    assert seen == list(range(119, 69, -1))
    url = re.search(r'hx-get="([^"]+after=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = _fresh(client, "GET", url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in second
    seen += _marks(second)
    url = re.search(r'hx-get="([^"]+after=[^"]+)"', second).group(1).replace("&amp;", "&")
    third = _fresh(client, "GET", url, headers={"HX-Request": "true"}).get_data(as_text=True)
    seen += _marks(third)
    assert seen == list(range(119, -1, -1))
    assert "after=" not in third


def test_filters_by_person_and_action(client, db, login_as, quiet_church):
    church, owner, admin = quiet_church
    audit.record("members.exported", church_id=church.id, actor=owner, detail={"marker": "owner-export"})
    audit.record("members.exported", church_id=church.id, actor=admin, detail={"marker": "admin-export"})
    audit.record("broadcast.sent", church_id=church.id, actor=admin, detail={"marker": "admin-send"})
    db.session.commit()
    login_as(owner.email)
    by_admin = _fresh(client, "GET", f"/settings/audit?person={admin.id}").get_data(as_text=True)
    assert "admin-export" in by_admin and "admin-send" in by_admin and "owner-export" not in by_admin
    exports = _fresh(client, "GET", "/settings/audit?action=members.exported").get_data(as_text=True)
    assert "admin-export" in exports and "owner-export" in exports and "admin-send" not in exports
    both = _fresh(client, "GET", f"/settings/audit?person={admin.id}&action=broadcast.sent").get_data(as_text=True)
    assert "admin-send" in both and "admin-export" not in both
    nonsense = _fresh(client, "GET", "/settings/audit?person=x&action=drop&after=junk")
    assert nonsense.status_code == 200


def test_the_csv_export_has_every_filtered_row_and_no_formulas(client, db, login_as, quiet_church):
    church, owner, admin = quiet_church
    audit.record("settings.changed", church_id=church.id, actor=admin, detail={"section": "=HYPERLINK(1)"})
    for n in range(3):
        audit.record("broadcast.sent", church_id=church.id, actor=owner, detail={"n": n})
    db.session.commit()
    login_as(owner.email)
    response = _fresh(client, "GET", f"/settings/audit/export.csv?person={admin.id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["action"] for r in rows] == ["settings.changed"]
    assert rows[0]["person"] == "Adam Admin"
    assert rows[0]["detail"].startswith("section: =HYPERLINK")  # text after the label: no formula cell
    everything = _fresh(client, "GET", "/settings/audit/export.csv").get_data(as_text=True)
    assert everything.count("broadcast.sent") == 3
    assert _events(db, church, "audit.exported")
