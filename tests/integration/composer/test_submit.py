"""Submitting the composer: idempotency, scheduling in the church's timezone, refusals, leaders, tenants."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import g
from sqlalchemy import func, select

from app.models import Broadcast, BroadcastRecipient, Group, GroupLeader, Schedule


def _count(db, church, **where):
    stmt = select(func.count()).select_from(Broadcast).where(Broadcast.church_id == church.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(Broadcast, key) == value)
    return db.session.scalar(stmt)


def test_posting_twice_with_the_same_key_makes_one_broadcast(client, login_as, compose, db, church):
    login_as("owner")
    first = client.post("/broadcasts", data=compose(idempotency_key="double-click"))
    second = client.post("/broadcasts", data=compose(idempotency_key="double-click"))
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert _count(db, church, idempotency_key="double-click") == 1
    b = db.session.scalar(select(Broadcast).where(Broadcast.idempotency_key == "double-click"))
    recipients = db.session.scalar(
        select(func.count()).select_from(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == b.id)
    )
    assert recipients > 0


def test_schedule_later_converts_church_time_to_utc_and_shows_it_back(client, login_as, compose, db, church):
    login_as("owner")
    day = (datetime.now(ZoneInfo(church.timezone)) + timedelta(days=3)).date()
    data = compose(when="later", send_date=day.isoformat(), send_time="09:30", idempotency_key="later-1")
    confirm = client.post("/broadcasts/confirm", data=data).get_data(as_text=True)
    assert "9:30 AM" in confirm
    r = client.post("/broadcasts", data=data)
    assert r.status_code == 302
    b = db.session.scalar(select(Broadcast).where(Broadcast.idempotency_key == "later-1"))
    expected = datetime.combine(day, datetime.min.time().replace(hour=9, minute=30), ZoneInfo("America/Chicago"))
    assert b.status == "scheduled" and b.scheduled_at == expected.astimezone(UTC)
    assert "9:30 AM" in client.get(f"/broadcasts/{b.id}").get_data(as_text=True)


def test_schedule_in_the_past_is_a_field_error(client, login_as, compose):
    login_as("owner")
    r = client.post("/broadcasts", data=compose(when="later", send_date="2020-01-05", send_time="09:00"))
    assert r.status_code == 422 and "That time has passed" in r.get_data(as_text=True)


def test_repeat_creates_one_schedule_even_when_submitted_twice(client, login_as, compose, db, church):
    login_as("owner")
    until = (date.today() + timedelta(days=60)).isoformat()
    data = compose(when="repeat", repeat_freq="weekly", weekdays=["SU", "WE"], send_time="09:00", until=until)
    data["idempotency_key"] = "repeat-1"
    assert client.post("/broadcasts", data=data).status_code == 302
    assert client.post("/broadcasts", data=data).status_code == 302
    schedules = db.session.scalars(select(Schedule).where(Schedule.church_id == church.id)).all()
    assert len(schedules) == 1
    s = schedules[0]
    assert "BYDAY=WE,SU" in s.rrule and s.enabled and s.next_run_at > datetime.now(UTC)
    assert s.next_run_at.astimezone(ZoneInfo("America/Chicago")).hour == 9
    listing = client.get("/broadcasts").get_data(as_text=True)
    assert "Repeating" in listing and "Weekly on Wed, Sun at 9:00 AM" in listing


def test_pause_and_delete_a_schedule(client, login_as, compose, db, church):
    login_as("owner")
    until = (date.today() + timedelta(days=60)).isoformat()
    data = compose(when="repeat", repeat_freq="monthly", month_day="15", send_time="18:00", until=until)
    client.post("/broadcasts", data=data)
    s = db.session.scalar(select(Schedule).where(Schedule.church_id == church.id))
    client.post(f"/broadcasts/schedules/{s.id}/pause")
    db.session.refresh(s)
    assert not s.enabled
    client.post(f"/broadcasts/schedules/{s.id}/pause")
    db.session.refresh(s)
    assert s.enabled
    client.post(f"/broadcasts/schedules/{s.id}/delete")
    assert db.session.get(Schedule, s.id) is None


def test_over_allowance_is_refused_with_the_reason_and_an_upgrade_link(client, login_as, compose, db, church):
    login_as("owner")
    church.sms_quota = 1
    db.session.flush()
    r = client.post("/broadcasts", data=compose(idempotency_key="too-big"))
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="refusal"' in html and "segments" in html and 'href="/billing"' in html
    assert _count(db, church, idempotency_key="too-big") == 0


def test_single_branch_audience_sends_from_the_branch_number(client, login_as, compose, db, church):
    from app.models import Branch, PhoneNumber

    login_as("owner")
    branch = db.session.scalar(select(Branch).where(Branch.church_id == church.id, Branch.name == "Downtown"))
    db.session.add(PhoneNumber(church_id=church.id, e164="+13125550111", branch_id=branch.id))
    db.session.flush()
    data = compose(group_ids=[], branch_ids=[str(branch.id)], idempotency_key="branch-1")
    html = client.post("/broadcasts/confirm", data=data).get_data(as_text=True)
    assert "+13125550111" in html and "the branch's own number" in html
    client.post("/broadcasts", data=data)
    assert db.session.scalar(select(Broadcast.from_number).where(Broadcast.idempotency_key == "branch-1")) == (
        "+13125550111"
    )


def test_leaders_get_403_unless_the_church_lets_them_send(client, login_as, compose, db, church):
    login_as("leader")
    assert client.get("/broadcasts/new").status_code == 403
    assert client.post("/broadcasts", data=compose()).status_code == 403
    assert client.post("/broadcasts/new/counter", data=compose()).status_code == 403


def test_leaders_may_send_only_to_groups_they_lead(client, login_as, compose, db, church, youth):
    church.leaders_can_send = True
    db.session.flush()
    login_as("leader")
    page = client.get("/broadcasts/new").get_data(as_text=True)
    assert "Youth" in page and "Worship Team" not in page and 'name="everyone"' not in page
    worship = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Worship Team"))
    assert client.post("/broadcasts", data=compose(group_ids=[str(worship.id)])).status_code == 403
    assert client.post("/broadcasts", data=compose(group_ids=[], everyone="y")).status_code == 403
    r = client.post("/broadcasts", data=compose(idempotency_key="leader-1"))
    assert r.status_code == 302
    assert _count(db, church, idempotency_key="leader-1") == 1
    led = db.session.scalars(select(GroupLeader.group_id)).all()
    assert youth.id in led


def test_other_churches_groups_and_members_never_join_the_audience(client, login_as, compose, db, other_church):
    from app.models import Member

    login_as("owner")
    hope_group = db.session.scalar(select(Group.id).where(Group.church_id == other_church.id))
    hope_member = db.session.scalar(select(Member.id).where(Member.church_id == other_church.id))
    r = client.post("/broadcasts/confirm", data=compose(group_ids=[str(hope_group)], member_ids=[str(hope_member)]))
    assert r.status_code == 422 and "Choose who gets this" in r.get_data(as_text=True)


def test_other_churches_broadcasts_are_not_found(client, login_as, compose, db, church):
    login_as("owner")
    client.post("/broadcasts", data=compose(idempotency_key="iso"))
    b = db.session.scalar(select(Broadcast).where(Broadcast.idempotency_key == "iso"))
    g.pop("_login_user", None)  # the test's app context outlives requests; forget the cached user
    login_as("hope")
    assert client.get(f"/broadcasts/{b.id}").status_code == 404
    assert client.post(f"/broadcasts/{b.id}/cancel").status_code == 404
    assert "youth night" not in client.get("/broadcasts").get_data(as_text=True)
