"""Replies share the provider circuit and the sending number's rate limit with broadcasts."""

from __future__ import annotations

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import text

from app.delivery.guards import circuit_breaker, rate_limiter
from app.extensions import rds
from app.inbox.inbound import handle_received
from app.inbox.tasks import send_message, sweep_replies
from tests.integration.inbox.conftest import (
    GRACE_NUMBER,
    conversation_of,
    messages_of,
    run_high_queue,
    telnyx_payload,
)

HX = {"HX-Request": "true"}
PHONE = "+17735550181"


@pytest.fixture
def reply(client, db, church, login_as):
    """A staff reply waiting to go out (status "sending", its job not run yet)."""
    login_as("owner")
    handle_received(telnyx_payload(PHONE, text="Is anyone there?"), None)
    db.session.commit()
    conv = conversation_of(db, church, PHONE)
    client.post(f"/inbox/{conv.id}/reply", data={"body": "Yes, calling you now"}, headers=HX)
    message = messages_of(db, conv)[-1]
    assert (message.direction, message.status) == ("out", "sending")
    rds.queue("high").empty()  # the job runs by hand below
    return message


def _open_circuit() -> None:
    breaker = circuit_breaker()
    for _ in range(5):
        breaker.record_failure()
    assert breaker.state()["state"] == "open"


def test_a_reply_waits_while_the_circuit_is_open(db, reply, simulator):
    _open_circuit()
    assert send_message(reply.id) == "deferred"
    db.session.refresh(reply)
    assert reply.status == "sending" and reply.provider_message_id is None
    assert simulator.messages(to=PHONE) == []
    [job_id] = ScheduledJobRegistry(queue=rds.queue("high")).get_job_ids()
    job = rds.queue("high").fetch_job(job_id)
    assert job.func_name == "app.inbox.tasks.send_message" and job.args == (reply.id,)


def test_a_reply_as_the_half_open_probe_closes_the_circuit(db, reply, simulator):
    _open_circuit()
    breaker = circuit_breaker()
    rds.client.set(breaker.keys[1], 1)  # the cool-down ended long ago: the next call is the probe
    assert breaker.state()["state"] == "half_open"
    assert send_message(reply.id) == "sending"  # handed to the provider; webhooks settle it
    db.session.refresh(reply)
    assert reply.provider_message_id is not None
    assert [m["text"] for m in simulator.messages(to=PHONE)] == ["Yes, calling you now"]
    assert breaker.state()["state"] == "closed"


def test_a_reply_uses_the_sending_numbers_rate(app, db, reply, simulator):
    app.config["SMS_RATES"] = {"long_code": 1}
    try:
        assert send_message(reply.id) == "sending"
        # The reply took this second's only send from the number, as a broadcast batch would see.
        assert not rate_limiter().try_acquire(GRACE_NUMBER, "long_code")
    finally:
        app.config.pop("SMS_RATES")


def _age(db, message, **columns) -> None:
    """Move the reply's timestamps into the past, as if the minutes had gone by."""
    sets = ", ".join(f"{name} = now() - make_interval(mins => :{name})" for name in columns)
    db.session.execute(text(f"UPDATE conversation_messages SET {sets} WHERE id = :id"), {"id": message.id, **columns})
    db.session.commit()


def test_a_second_run_of_a_begun_reply_sends_nothing(db, reply, simulator):
    assert send_message(reply.id) == "sending"
    db.session.execute(
        text("UPDATE conversation_messages SET provider_message_id = NULL WHERE id = :id"), {"id": reply.id}
    )
    # Even with no provider id yet (the first run still waiting on the provider), the mark stops it.
    assert send_message(reply.id) == "skipped"
    assert len(simulator.messages(to=PHONE)) == 1


def test_a_reply_refused_unsent_as_the_circuit_opens_waits_and_can_begin_again(db, reply, simulator):
    breaker = circuit_breaker()
    for _ in range(4):
        breaker.record_failure()  # one more failure opens it
    simulator.add_fault(to=PHONE, kind="server_error")
    assert send_message(reply.id) == "deferred"
    db.session.refresh(reply)
    assert (reply.status, reply.provider_message_id, reply.send_started_at) == ("sending", None, None)
    assert breaker.state()["state"] == "open" and simulator.messages(to=PHONE) == []
    # Once the provider answers again, the next run begins it afresh and it goes out once.
    simulator.clear_faults()
    rds.client.set(breaker.keys[1], 1)  # the cool-down is over: this run is the probe
    assert send_message(reply.id) == "sending"
    assert [m["text"] for m in simulator.messages(to=PHONE)] == ["Yes, calling you now"]


def test_a_reply_whose_job_was_lost_is_queued_again_and_sent_once(db, reply, simulator):
    _age(db, reply, created_at=3)
    assert sweep_replies() == (0, 1)
    run_high_queue()
    db.session.refresh(reply)
    assert reply.provider_message_id is not None
    assert [m["text"] for m in simulator.messages(to=PHONE)] == ["Yes, calling you now"]
    assert sweep_replies() == (0, 0)


def test_a_reply_waiting_on_the_circuit_is_left_to_its_deferred_job(db, reply):
    _open_circuit()
    assert send_message(reply.id) == "deferred"
    _age(db, reply, created_at=3)
    assert sweep_replies() == (0, 0)


def test_a_reply_whose_worker_died_mid_send_becomes_unknown_and_is_not_resent(client, db, reply, simulator):
    _age(db, reply, created_at=10, send_started_at=6)  # begun, then nothing: the worker was killed
    assert sweep_replies() == (1, 0)
    db.session.refresh(reply)
    assert (reply.status, reply.error_code) == ("unknown", "worker_lost")
    assert send_message(reply.id) == "skipped" and simulator.messages(to=PHONE) == []
    html = client.get(f"/inbox/{reply.conversation_id}").get_data(as_text=True)
    assert f'id="msg-{reply.id}" data-message-id="{reply.id}" data-status="unknown"' in html
    assert "Status unknown" in html
