"""/api/v1/broadcasts: the composer's path from a program: send now or later, warnings, refusals, cancel, counts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select, text

from app import webhook_processor
from app.extensions import rds
from app.models import AuditLog, Broadcast, BroadcastRecipient, GroupMember
from tests.factories import GroupFactory, MemberFactory
from tests.integration.delivery_engine.conftest import no_quiet_hours, sim, webhook_sink  # noqa: F401


@pytest.fixture
def people(db, church, no_quiet_hours):  # noqa: F811
    """A group of three members who can be texted and one who opted out."""
    group = GroupFactory(church_id=church.id, name=f"Api {uuid.uuid4().hex[:6]}")
    for i in range(4):
        member = MemberFactory(
            church_id=church.id,
            first_name=f"Bea{i}",
            phone_e164=f"+1773444{i:04d}",
            opted_out_at=datetime.now(UTC) if i == 3 else None,
        )
        db.session.add(GroupMember(church_id=church.id, group_id=group.id, member_id=member.id))
    db.session.flush()
    return group


def _body(group, **overrides):
    return {
        "body": "Grace: picnic Sunday at noon, {first_name|friend}!",
        "audience": {"group_ids": [group.id]},
        **overrides,
    }


def _broadcasts(db, church) -> int:
    return db.session.scalar(select(func.count()).select_from(Broadcast).where(Broadcast.church_id == church.id))


def test_send_now_leaves_out_the_opted_out_and_answers_live_counts(api, db, church, people):
    response = api.post("/api/v1/broadcasts", json=_body(people, title="Picnic"))
    assert response.status_code == 201
    answer = response.get_json()
    data = answer["data"]
    assert data["status"] == "sending" and data["title"] == "Picnic" and data["scheduled_at"] is None
    assert data["audience"]["group_ids"] == [people.id] and data["audience"]["everyone"] is False
    assert data["counts"]["total"] == 3 and data["counts"]["queued"] == 3 and data["done"] is False
    assert answer["left_out"] == {"opted_out": 1, "no_phone": 0}
    assert answer["warnings"] == []
    broadcast = db.session.get(Broadcast, data["id"])
    assert broadcast.church_id == church.id and broadcast.created_by_id is None
    # The audit log says which key sent it.
    audit = db.session.scalar(
        select(AuditLog).where(AuditLog.action == "broadcast.sent", AuditLog.target_id == broadcast.id)
    )
    assert audit.user_id is None and audit.detail["by"].startswith("API key “Test key” (kn_live_")
    # Queued for the workers like a broadcast from the composer.
    assert rds.queue("default").count >= 1
    assert api.get(f"/api/v1/broadcasts/{data['id']}").get_json()["data"]["counts"]["total"] == 3


def test_send_later_is_scheduled_at_that_instant(api, db, church, people):
    at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    local = at.astimezone(ZoneInfo("America/Chicago")).isoformat()
    response = api.post("/api/v1/broadcasts", json=_body(people, send_at=local))
    assert response.status_code == 201
    data = response.get_json()["data"]
    assert data["status"] == "scheduled" and data["started_at"] is None
    assert datetime.fromisoformat(data["scheduled_at"]) == at
    assert data["counts"]["queued"] == 3
    assert rds.queue("default").count == 0  # nothing goes before its time


def test_a_time_that_has_passed_is_a_field_error(api, db, church, people):
    before = _broadcasts(db, church)
    response = api.post("/api/v1/broadcasts", json=_body(people, send_at="2020-01-05T09:00:00Z"))
    assert response.status_code == 422
    assert "send_at" in response.get_json()["error"]["details"]
    naive = api.post("/api/v1/broadcasts", json=_body(people, send_at="2030-01-05T09:00:00"))
    assert naive.status_code == 422 and "send_at" in naive.get_json()["error"]["details"]
    assert _broadcasts(db, church) == before


def test_the_composers_warnings_come_back_and_it_is_sent_anyway(api, db, church, people):
    # Quiet hours around the church's present local time.
    now = datetime.now(ZoneInfo(church.timezone))
    church.quiet_hours_start = (now - timedelta(hours=1)).time().replace(microsecond=0)
    church.quiet_hours_end = (now + timedelta(hours=1)).time().replace(microsecond=0)
    db.session.flush()
    body = "HURRY UP AND REGISTER TODAY at bit.ly/picnic"
    response = api.post("/api/v1/broadcasts", json=_body(people, body=body))
    assert response.status_code == 201
    warnings = response.get_json()["warnings"]
    assert any("Link shortener (bit.ly/picnic)" in w for w in warnings)
    assert any("Mostly CAPITALS" in w for w in warnings)
    assert any("Doesn't name the church" in w for w in warnings)
    assert "Inside quiet hours: it will wait until they end in the morning." in warnings


def test_over_the_allowance_is_refused_and_nothing_is_sent(api, db, church, people):
    church.sms_quota = 1
    db.session.flush()
    before = _broadcasts(db, church)
    response = api.post("/api/v1/broadcasts", json=_body(people))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert "segments" in error["message"] and error["details"]["allowance"] == [error["message"]]
    assert _broadcasts(db, church) == before


def test_field_errors_and_ids_of_other_churches(api, db, church, other_church, people):
    hope_group = GroupFactory(church_id=other_church.id, name="Hope only")
    db.session.flush()
    response = api.post("/api/v1/broadcasts", json={"body": "  ", "audience": {"group_ids": [0]}, "colour": "red"})
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]
    assert {"body", "audience", "colour"} <= set(details)
    foreign = api.post("/api/v1/broadcasts", json=_body(people, audience={"group_ids": [people.id, hope_group.id]}))
    assert foreign.status_code == 422
    assert foreign.get_json()["error"]["details"] == {
        "audience": {"group_ids": [f"Not in this church: {hope_group.id}."]}
    }
    nobody = api.post("/api/v1/broadcasts", json=_body(people, audience={}))
    assert nobody.status_code == 422 and "audience" in nobody.get_json()["error"]["details"]
    http = api.post("/api/v1/broadcasts", json=_body(people, media_url="http://example.org/a.jpg"))
    assert http.status_code == 422 and "media_urls" in http.get_json()["error"]["details"]
    assert api.get(f"/api/v1/broadcasts/{10**12}").status_code == 404


def test_cancel_skips_everyone_not_yet_sent_and_only_once(api, db, church, people):
    at = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    created = api.post("/api/v1/broadcasts", json=_body(people, send_at=at)).get_json()["data"]
    response = api.post(f"/api/v1/broadcasts/{created['id']}/cancel")
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["status"] == "cancelled" and data["done"] is True
    assert data["counts"]["skipped"] == 3 and data["counts"]["queued"] == 0
    again = api.post(f"/api/v1/broadcasts/{created['id']}/cancel")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"


def test_counts_follow_the_workers_and_receipts(api, client, db, church, people, sim, webhook_sink):  # noqa: F811
    sim.webhooks, sim.webhook_url = True, webhook_sink.url
    created = api.post("/api/v1/broadcasts", json=_body(people)).get_json()["data"]
    SimpleWorker([rds.queue("default")], connection=rds.client).work(burst=True)
    sent = api.get(f"/api/v1/broadcasts/{created['id']}").get_json()["data"]
    assert sent["counts"]["queued"] == 0 and sent["counts"]["sent"] == 3
    webhook_sink.wait_for(6)  # message.sent and message.finalized for each of the three
    for received in webhook_sink.received:
        assert client.post("/webhooks/telnyx", data=received.body, headers=received.headers).status_code == 200
    webhook_processor.drain()
    settled = api.get(f"/api/v1/broadcasts/{created['id']}").get_json()["data"]
    assert settled["counts"]["delivered"] == 3 and settled["counts"]["sent"] == 0 and settled["done"] is True
    listed = api.get("/api/v1/broadcasts?limit=1").get_json()
    assert listed["data"][0]["id"] == created["id"]  # newest first
    assert listed["data"][0]["counts"] == settled["counts"]


def test_lists_newest_first_by_cursor_and_stay_in_the_church(api, api_as, db, church, other_church, people):
    ids = [api.post("/api/v1/broadcasts", json=_body(people)).get_json()["data"]["id"] for _ in range(3)]
    first = api.get("/api/v1/broadcasts?limit=2").get_json()
    assert [b["id"] for b in first["data"]] == ids[::-1][:2]
    second = api.get(f"/api/v1/broadcasts?limit=2&cursor={first['next_cursor']}").get_json()
    assert second["data"][0]["id"] == ids[0]
    hope = api_as(church="hope")
    assert ids[0] not in [b["id"] for b in hope.get("/api/v1/broadcasts?limit=100").get_json()["data"]]
    assert hope.get(f"/api/v1/broadcasts/{ids[0]}").status_code == 404
    assert hope.post(f"/api/v1/broadcasts/{ids[0]}/cancel").status_code == 404


def test_scopes_are_checked(api_as, db, church, people):
    reader = api_as(scopes=["read"])
    refused = reader.post("/api/v1/broadcasts", json=_body(people))
    assert refused.status_code == 403 and refused.get_json()["error"]["details"] == {"scope": "messages:send"}
    sender = api_as(scopes=["messages:send"])
    assert sender.get("/api/v1/broadcasts").status_code == 403
    assert sender.post("/api/v1/broadcasts", json=_body(people)).status_code == 201


def test_the_same_idempotency_key_replays_and_sends_once(api, db, church, people):
    headers = {"Idempotency-Key": "picnic-2026"}
    first = api.post("/api/v1/broadcasts", json=_body(people), headers=headers)
    again = api.post("/api/v1/broadcasts", json=_body(people), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    other = api.post("/api/v1/broadcasts", json=_body(people, body="Grace: something else"), headers=headers)
    assert other.status_code == 409
    made = select(func.count()).select_from(Broadcast).where(Broadcast.id == first.get_json()["data"]["id"])
    assert db.session.scalar(made) == 1
    recipients = (
        select(func.count())
        .select_from(BroadcastRecipient)
        .where(BroadcastRecipient.broadcast_id == first.get_json()["data"]["id"])
    )
    assert db.session.scalar(recipients) == 3
    # The stored answer gone (24 hours later), the broadcast's own key still finds the first one.
    rds.client.flushdb()
    late = api.post("/api/v1/broadcasts", json=_body(people), headers=headers)
    assert late.get_json()["data"]["id"] == first.get_json()["data"]["id"]


def test_the_composer_still_sends_through_the_same_path(client, login_as, db, church, people):
    login_as("owner")
    data = {"body": "Grace: hello {first_name|friend}", "group_ids": [str(people.id)], "when": "now"}
    response = client.post("/broadcasts", data={**data, "idempotency_key": "form-1", "repeat_freq": "weekly"})
    assert response.status_code == 302
    broadcast = db.session.scalar(select(Broadcast).where(Broadcast.idempotency_key == "form-1"))
    assert broadcast.recipient_count == 3 and broadcast.status == "sending"


def test_a_nul_character_is_a_field_error_not_a_crash(api, db, church, people):
    response = api.post("/api/v1/broadcasts", json=_body(people, body="Grace: a\x00b"))
    assert response.status_code == 422 and response.get_json()["error"]["details"] == {
        "body": ["Contains a NUL character."]
    }
    member = api.post("/api/v1/members", json={"phone": "+13125550177", "first_name": "A\x00"})
    assert member.status_code == 422 and "first_name" in member.get_json()["error"]["details"]


def test_track_links_gives_each_recipient_a_short_link_as_the_composer_does(api, db, church, people):
    body = "Grace: sign up at https://grace.example.org/picnic?ref=sms today"
    response = api.post("/api/v1/broadcasts", json=_body(people, body=body, track_links=True))
    assert response.status_code == 201
    data = response.get_json()["data"]
    assert data["track_links"] is True and data["body"] == body  # the body is kept as written
    broadcast = db.session.get(Broadcast, data["id"])
    assert broadcast.track_links is True
    codes = db.session.execute(
        text(
            "SELECT l.url, count(c.code) FROM tracked_links l JOIN link_codes c ON c.link_id = l.id "
            "WHERE l.broadcast_id = :b GROUP BY l.url"
        ),
        {"b": broadcast.id},
    ).all()
    assert codes == [("https://grace.example.org/picnic?ref=sms", 3)]  # one code per recipient
    plain = api.post("/api/v1/broadcasts", json=_body(people, body=body)).get_json()["data"]
    assert plain["track_links"] is False  # off unless asked for
