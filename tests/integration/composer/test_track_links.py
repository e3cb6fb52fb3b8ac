"""The composer's "Track links": offered while the body holds a link, counted with short links,
carried through the confirmation step to the broadcast."""

from sqlalchemy import select

from app.models import Broadcast

LONG_LINK = "https://grace.example.org/" + "a" * 150


def test_track_links_is_offered_only_when_the_body_holds_a_link(client, login_as, compose):
    login_as("owner")
    with_link = client.post("/broadcasts/new/counter", data=compose(body="Grace: see grace.church/easter"))
    assert with_link.status_code == 200 and "Track links" in with_link.get_data(as_text=True)
    page = client.post("/broadcasts/new", data=compose(body="Grace: see https://grace.example.org")).get_data(
        as_text=True
    )
    assert 'name="track_links"' in page and 'form="composer-form"' in page
    without = client.post("/broadcasts/new/counter", data=compose(body="Grace: no link today"))
    assert "Track links" not in without.get_data(as_text=True)


def test_ticking_it_counts_the_short_link_and_previews_it(client, login_as, compose, app):
    login_as("owner")
    body = f"Grace: {LONG_LINK}"
    plain = client.post("/broadcasts/new/counter", data=compose(body=body)).get_data(as_text=True)
    tracked = client.post("/broadcasts/new/counter", data=compose(body=body, track_links="y")).get_data(as_text=True)
    assert '<strong class="num">2</strong> segments per text' in plain
    assert '<strong class="num">1</strong> segment per text' in tracked
    assert app.config["APP_BASE_URL"].rstrip("/") + "/l/" in tracked


def test_the_choice_travels_through_confirmation_to_the_broadcast(client, login_as, compose, db, church):
    login_as("owner")
    data = compose(body=f"Grace: {LONG_LINK}", track_links="y", idempotency_key="tracked-1")
    confirm = client.post("/broadcasts/confirm", data=data).get_data(as_text=True)
    assert '<input type="hidden" name="track_links" value="y">' in confirm
    assert client.post("/broadcasts", data=data).status_code == 302
    b = db.session.scalar(select(Broadcast).where(Broadcast.idempotency_key == "tracked-1"))
    assert b.track_links and b.segments_per_message == 1
    untracked = compose(body=f"Grace: {LONG_LINK}", idempotency_key="plain-1")
    assert client.post("/broadcasts", data=untracked).status_code == 302
    b = db.session.scalar(select(Broadcast).where(Broadcast.idempotency_key == "plain-1"))
    assert not b.track_links and b.segments_per_message == 2


def test_a_repeating_broadcast_tracks_the_links_of_each_run(client, login_as, compose, db, church):
    from datetime import date, timedelta

    from sqlalchemy import func

    from app.broadcasts.schedules import run_due_schedules
    from app.models import LinkCode, Schedule, TrackedLink

    login_as("owner")
    until = (date.today() + timedelta(days=60)).isoformat()
    data = compose(body="Grace: https://grace.example.org/live", track_links="y", idempotency_key="repeat-tracked")
    data.update(when="repeat", repeat_freq="weekly", weekdays=["SU", "WE"], send_time="09:00", until=until)
    assert client.post("/broadcasts", data=data).status_code == 302
    schedule = db.session.scalar(select(Schedule).where(Schedule.idempotency_key == "repeat-tracked"))
    assert schedule.track_links
    assert run_due_schedules(now=schedule.next_run_at + timedelta(minutes=1)) == 1
    run = db.session.scalar(select(Broadcast).where(Broadcast.schedule_id == schedule.id))
    assert run.track_links
    codes = (
        select(func.count())
        .select_from(LinkCode)
        .join(TrackedLink, TrackedLink.id == LinkCode.link_id)
        .where(TrackedLink.broadcast_id == run.id)
    )
    assert db.session.scalar(codes) == run.recipient_count > 0
