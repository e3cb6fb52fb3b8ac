"""Replies share the provider circuit and the sending number's rate limit with broadcasts."""

from __future__ import annotations

import pytest
from rq.registry import ScheduledJobRegistry

from app.broadcasts.sending import circuit_breaker, rate_limiter
from app.extensions import rds
from app.inbox.inbound import handle_received
from app.inbox.tasks import send_message
from tests.integration.inbox.conftest import GRACE_NUMBER, conversation_of, messages_of, telnyx_payload

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
