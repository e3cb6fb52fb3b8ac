"""Settings → Church: name, time zone, quiet hours, the HELP reply and whether leaders may send."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from rq.registry import ScheduledJobRegistry
from rq.worker import SimpleWorker
from sqlalchemy import select

from app.broadcasts import tasks
from app.broadcasts.audience import AudienceSpec
from app.config import Config
from app.errors import PermissionDenied
from app.extensions import rds
from app.models import BroadcastRecipient, Church, User
from app.settings import services

URL = "/settings/church"
COLUMNS = ("name", "timezone", "quiet_hours_start", "quiet_hours_end", "help_text", "leaders_can_send")


def form(**overrides) -> dict:
    """The form as a browser posts it; None leaves a field out (an unticked checkbox)."""
    data = {
        "name": "Grace Community Church",
        "timezone": "America/Chicago",
        "quiet_hours": "y",
        "quiet_hours_start": "21:00",
        "quiet_hours_end": "08:00",
        "help_text": "",
        "leaders_can_send": None,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def row(db, church_id: int) -> dict:
    """The church's settings as stored (not through the session's identity map)."""
    table = Church.__table__
    found = db.session.execute(select(*(table.c[c] for c in COLUMNS)).where(table.c.id == church_id)).one()
    return dict(zip(COLUMNS, found, strict=True))


def error_of(html: str, field_id: str) -> str:
    """The error text shown beside one field."""
    found = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', html)
    return found.group(1) if found else ""


def local_hhmm(church, hours: int) -> str:
    """The church's wall-clock time `hours` from now, as typed in a time input."""
    local = datetime.now(ZoneInfo(church.timezone)) + timedelta(hours=hours)
    return local.strftime("%H:%M")


def quiet_now(db, church) -> tuple[str, str]:
    """Quiet hours from an hour ago until two hours from now: a send now is held."""
    start, end = local_hhmm(church, -1), local_hhmm(church, 2)
    church.quiet_hours_start, church.quiet_hours_end = time.fromisoformat(start), time.fromisoformat(end)
    db.session.flush()
    return start, end


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_page_renders_for_owners_and_admins(client, login_as, church, role):
    login_as(role)
    response = client.get(URL)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="Grace Community Church"' in html
    assert '<option selected value="America/Chicago">' in html
    assert 'type="time"' in html and 'value="21:00"' in html and 'value="08:00"' in html
    # Nothing written yet: the page says what members get instead.
    assert "Left empty, they receive: “Grace Community Church: texts from your church." in html
    index = client.get("/settings").get_data(as_text=True)
    assert "Church</h2>" in index and f'href="{URL}"' in index


def test_us_zones_come_first_then_every_zone_once(client, login_as):
    login_as("owner")
    html = client.get(URL).get_data(as_text=True)
    values = re.findall(r'<option(?: selected)? value="([^"]+)"', html)
    assert values[:3] == ["America/New_York", "America/Chicago", "America/Denver"]
    assert len(values) == len(set(values)) > 400 and "Europe/London" in values


def test_leaders_get_403(client, login_as):
    login_as("leader")
    assert client.get(URL).status_code == 403
    assert client.post(URL, data=form(name="Taken over")).status_code == 403


def test_saves_every_field(client, db, login_as, church):
    login_as("admin")
    data = form(
        name="  Grace Church Downtown ",
        timezone="America/New_York",
        quiet_hours_start="22:30",
        quiet_hours_end="07:15",
        help_text=" Grace Church: call 312-555-0100. Reply STOP to opt out. ",
        leaders_can_send="y",
    )
    response = client.post(URL, data=data)
    assert response.status_code == 302 and response.headers["Location"].endswith(URL)
    assert row(db, church.id) == {
        "name": "Grace Church Downtown",
        "timezone": "America/New_York",
        "quiet_hours_start": time(22, 30),
        "quiet_hours_end": time(7, 15),
        "help_text": "Grace Church: call 312-555-0100. Reply STOP to opt out.",
        "leaders_can_send": True,
    }
    page = client.get(URL).get_data(as_text=True)
    assert "Church settings saved." in page
    assert 'value="22:30"' in page and "Reply STOP to opt out.</textarea>" in page
    # Unticking leaders and clearing the HELP reply store false and NULL.
    client.post(URL, data=form(leaders_can_send=None, help_text="   "))
    assert row(db, church.id)["leaders_can_send"] is False and row(db, church.id)["help_text"] is None


def test_quiet_hours_off_stores_nulls_and_ignores_the_times(client, db, login_as, church):
    login_as("owner")
    response = client.post(URL, data=form(quiet_hours=None, quiet_hours_start="nonsense", quiet_hours_end=""))
    assert response.status_code == 302
    stored = row(db, church.id)
    assert stored["quiet_hours_start"] is None and stored["quiet_hours_end"] is None
    page = client.get(URL).get_data(as_text=True)
    assert 'id="quiet_hours" name="quiet_hours" type="checkbox" value="y"' in page  # not checked
    assert 'value="21:00"' in page  # the usual times wait there for when they are turned back on


INVALID = {
    "unknown zone": ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Choose a time zone", 'value="Typed Name"'),
    "start is end": ({"quiet_hours_end": "22:15"}, "quiet_hours_end", "different time", 'value="22:15"'),
    "no start": ({"quiet_hours_start": ""}, "quiet_hours_start", "Enter when quiet hours start.", 'value="05:30"'),
    "no end": ({"quiet_hours_end": ""}, "quiet_hours_end", "Enter when quiet hours end.", 'value="22:15"'),
    "long help": ({"help_text": "H" * 301}, "help_text", "At most 300 characters", "H" * 301 + "</textarea>"),
    "no name": ({"name": ""}, "name", "Give the church a name.", 'value="22:15"'),
}


@pytest.mark.parametrize(("overrides", "field_id", "message", "kept"), INVALID.values(), ids=INVALID.keys())
def test_invalid_input_shows_by_its_field_and_keeps_what_was_typed(
    client, db, login_as, church, overrides, field_id, message, kept
):
    login_as("owner")
    before = row(db, church.id)
    data = form(**{"name": "Typed Name", "quiet_hours_start": "22:15", "quiet_hours_end": "05:30", **overrides})
    response = client.post(URL, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in error_of(html, field_id)
    assert f'id="{field_id}-field"' in html and 'aria-invalid="true"' in html
    assert kept in html
    assert row(db, church.id) == before


def test_another_church_is_never_touched(client, db, login_as, church, other_church):
    hope_before = row(db, other_church.id)
    login_as("owner")
    assert client.post(URL, data=form(name="Grace Renamed", quiet_hours=None, leaders_can_send="y")).status_code == 302
    assert row(db, other_church.id) == hope_before
    assert row(db, church.id)["name"] == "Grace Renamed"


def test_hope_chapel_saving_changes_only_hope_chapel(client, db, login_as, church, other_church):
    grace_before = row(db, church.id)
    login_as("hope")
    client.post(URL, data=form(name="Hope Chapel North"))
    assert row(db, church.id) == grace_before
    assert row(db, other_church.id)["name"] == "Hope Chapel North"


def test_the_service_refuses_another_church(db, church, other_church):
    actor = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    with pytest.raises(PermissionDenied):
        services.save_church(
            actor,
            other_church,
            name="Hijacked",
            timezone="UTC",
            quiet_hours=None,
            help_text=None,
            leaders_can_send=True,
        )


def test_csrf_is_on_outside_tests_and_a_tokenless_post_is_refused(app, client, db, login_as, church):
    assert getattr(Config, "WTF_CSRF_ENABLED", True) is True
    login_as("owner")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert 'name="csrf_token"' in client.get(URL).get_data(as_text=True)
        response = client.post(URL, data=form(name="No Token Church"))
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert row(db, church.id)["name"] == "Grace Community Church"


@pytest.mark.parametrize(("role", "linked"), [("owner", True), ("admin", True), ("leader", False)])
def test_composer_links_quiet_hours_to_church_settings_for_admins(client, db, login_as, church, role, linked):
    church.leaders_can_send = True
    quiet_now(db, church)
    data = {"body": "Hello", "when": "now", "everyone": "y"}
    login_as(role)
    html = client.post("/broadcasts/new/counter", data=data, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Inside quiet hours" in html
    assert (f'<a href="{URL}">Inside quiet hours' in html) is linked


def _queued(db, broadcast) -> int:
    statuses = db.session.scalars(
        select(BroadcastRecipient.status).where(BroadcastRecipient.broadcast_id == broadcast.id)
    ).all()
    return statuses.count("queued")


def test_turning_quiet_hours_off_releases_a_held_broadcast(client, db, sim, church, small_group, send_to, login_as):
    quiet_now(db, church)
    queue = rds.queue("default")
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    SimpleWorker([queue], connection=rds.client).work(burst=True)  # the batch meets quiet hours
    deferred = ScheduledJobRegistry(queue=queue).get_job_ids()
    assert len(deferred) == 1 and _queued(db, broadcast) == 5 and sim.stats()["accepted"] == 0

    login_as("owner")
    assert client.post(URL, data=form(quiet_hours=None)).status_code == 302
    released = queue.get_jobs()
    assert [job.args for job in released] == [(broadcast.id, 0)]

    SimpleWorker([queue], connection=rds.client).work(burst=True)
    db.session.expire_all()
    assert _queued(db, broadcast) == 0 and sim.stats()["accepted"] == 5
    # Morning comes: the job deferred to it finds nobody left, so nobody is texted twice.
    queue.fetch_job(deferred[0]).perform()
    assert sim.stats()["accepted"] == 5


def test_saves_that_keep_it_quiet_leave_held_broadcasts_alone(client, db, sim, church, small_group, send_to, login_as):
    start, end = quiet_now(db, church)
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    assert tasks.send_batch(broadcast.id).startswith("quiet hours")
    queue = rds.queue("default")
    queue.empty()
    login_as("owner")
    client.post(URL, data=form(quiet_hours_start=start, quiet_hours_end=end, help_text="Call us."))
    assert queue.get_jobs() == []  # the quiet hours did not change
    client.post(URL, data=form(quiet_hours_start=start, quiet_hours_end=local_hhmm(church, 3)))
    assert queue.get_jobs() == []  # they changed, but it is still quiet now
    assert ScheduledJobRegistry(queue=queue).count == 1 and _queued(db, broadcast) == 5


def test_an_earlier_end_while_still_quiet_retimes_the_hold():
    now = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)
    eight, six = now + timedelta(hours=4), now + timedelta(hours=2)
    assert services._retry_in(eight, None, now) == 0.0  # no longer quiet: send now
    assert services._retry_in(eight, six, now) == 2 * 3600  # still quiet, ends sooner
    assert services._retry_in(six, eight, now) is None  # ends later: the deferred jobs defer again
    assert services._retry_in(None, six, now) is None  # newly quiet: the next batch defers itself
