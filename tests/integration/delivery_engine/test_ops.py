"""/ops and /ops/dead-letters: who may see them, what they show, replay from the page."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.broadcasts import tasks
from app.broadcasts.audience import AudienceSpec
from app.dead_letters import add_dead_letter, replay_dead_letter
from app.delivery.guards import circuit_breaker
from app.extensions import rds
from app.models import DeadLetter
from tests.integration.dashboard.helpers import broadcast


def test_leaders_cannot_see_ops(client, login_as):
    login_as("leader")
    assert client.get("/ops").status_code == 403
    assert client.get("/ops/dead-letters").status_code == 403


def test_ops_page_shows_an_operator_every_churchs_queues(app, client, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "OPS_ADMIN_EMAILS", frozenset({"admin@example.org"}))
    login_as("owner")
    page = client.get("/ops")
    assert page.status_code == 200 and b"Texting provider" in page.data and b"<html" in page.data
    assert b"queued \xc2\xb7" in page.data  # every panel read its store (none fell back to a dash)
    assert b"Webhook backlog" in page.data and b"oldest waiting" in page.data
    fragment = client.get("/ops", headers={"HX-Request": "true"})
    assert b"<html" not in fragment.data and b"Job queues" in fragment.data


def test_church_admin_sees_only_their_churchs_queue_figures(db, client, login_as, church, other_church, send_to):
    send_to(AudienceSpec(everyone=True))  # Grace's queue holds its batch jobs
    broadcast(other_church.id, status="paused")
    add_dead_letter("broadcast_batch", {"broadcast_id": 1}, "boom", church_id=church.id)
    login_as("hope")
    page = client.get("/ops", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Texting provider" in page and "Your broadcasts in flight" in page
    assert "Job queues" not in page and "Webhook backlog" not in page and "in the last minute" not in page
    in_flight = page.split('id="broadcasts-in-flight"', 1)[1]
    assert '<td>Sending</td><td class="num">0</td>' in in_flight
    assert '<td>Paused</td><td class="num">1</td>' in in_flight
    assert "0 queued" in page  # none of Grace's recipients, nor its dead letter below
    assert re.search(r'Dead letters</span>\s*<span class="stat-value num">0</span>', page)


def test_health_ready_reports_an_open_circuit_without_failing(client, db):
    breaker = circuit_breaker()
    for _ in range(5):
        breaker.record_failure()
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json["checks"]["circuit"]["circuit"]["state"] == "open"
    assert response.json["checks"]["circuit"]["status"] == "degraded"


def test_dead_letter_listed_and_replayed_from_the_page(db, client, login_as, sim, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    sim.add_fault("*", "server_error", times=3)
    tasks.send_batch(broadcast.id, limit=1)
    letter = db.session.scalar(select(DeadLetter))
    login_as("owner")
    listing = client.get("/ops/dead-letters")
    assert listing.status_code == 200 and b"Replay" in listing.data
    row = client.post(f"/ops/dead-letters/{letter.id}/replay", headers={"HX-Request": "true"})
    assert row.status_code == 200 and b"re-queued" in row.data and b"Replayed" in row.data


def test_another_churchs_dead_letter_is_not_found(db, client, login_as, church):
    add_dead_letter("broadcast_batch", {"broadcast_id": 1}, "boom", church_id=church.id)
    letter = db.session.scalar(select(DeadLetter))
    login_as("hope")
    assert client.post(f"/ops/dead-letters/{letter.id}/replay").status_code == 404


def test_replay_hands_the_resumed_broadcast_to_a_send_job(db, sim, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    sim.add_fault("*", "server_error", times=3)
    tasks.send_batch(broadcast.id, limit=1)
    queue = rds.queue("default")
    queue.empty()
    replay_dead_letter(db.session.scalar(select(DeadLetter)))
    [job] = queue.jobs
    assert job.func_name == "app.broadcasts.tasks.resume_broadcast" and job.args == (broadcast.id, 5)
    job.perform()  # a worker would have taken it off the queue first
    assert [(j.func_name, j.args) for j in queue.jobs[1:]] == [("app.broadcasts.tasks.send_batch", (broadcast.id, 0))]


def test_dead_letters_page_ignores_a_before_that_is_not_an_id(client, login_as):
    login_as("owner")  # past a bigint, the keyset query was a 500
    for raw in ("9" * 25, "-5", "x"):
        assert client.get(f"/ops/dead-letters?before={raw}").status_code == 200, raw


def test_recipients_of_a_scheduled_broadcast_are_not_in_flight(db, client, login_as, church):
    from datetime import UTC, datetime, timedelta

    from app.models import Member
    from tests.integration.dashboard.helpers import recipient

    later = broadcast(church.id, status="scheduled", scheduled_at=datetime.now(UTC) + timedelta(days=12))
    for member in db.session.scalars(select(Member).where(Member.church_id == church.id).limit(3)):
        recipient(later, member)
    db.session.commit()
    login_as("owner")
    page = client.get("/ops", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "0 queued" in page
    assert "3 more in scheduled broadcasts" in page
