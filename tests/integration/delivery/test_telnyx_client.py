"""TelnyxClient against the simulator over loopback: success, every fault kind, concurrency."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest

from app.delivery import make_provider
from app.delivery.base import OptedOut, PermanentError, RateLimited, SendResult, TransientError
from app.delivery.telnyx import TelnyxClient

CHURCH = "+13125550100"
MEMBER = "+13125550142"


@pytest.fixture
def client(simulator):
    with TelnyxClient(simulator.api_base, "KEY_test", messaging_profile_id="prof-1", timeout=5.0) as c:
        yield c


def test_send_returns_id_status_parts_and_cost(client, simulator):
    result = client.send(CHURCH, MEMBER, "Welcome to Grace Community Church!")
    assert isinstance(result, SendResult)
    assert result.status == "queued" and result.parts == 1
    assert result.cost == Decimal("0.0040") and result.currency == "USD"
    [recorded] = simulator.messages()
    assert recorded["id"] == result.provider_message_id
    assert (recorded["from"], recorded["to"], recorded["type"]) == (CHURCH, MEMBER, "SMS")


def test_long_unicode_text_is_billed_per_ucs2_segment(client):
    result = client.send(CHURCH, MEMBER, "🙏 " + "a" * 100)
    assert result.parts == 2 and result.cost == Decimal("0.0080")


def test_media_makes_an_mms(client, simulator):
    client.send(CHURCH, MEMBER, "", media_urls=["https://example.org/flyer.jpg"])
    assert simulator.messages()[0]["type"] == "MMS"


def test_make_provider_builds_a_client_from_config(simulator):
    provider = make_provider({"TELNYX_API_BASE": simulator.api_base, "TELNYX_API_KEY": "KEY_x"})
    try:
        assert provider.send(CHURCH, MEMBER, "hi").provider_message_id
    finally:
        provider.close()
    with pytest.raises(ValueError, match="TELNYX_API_KEY"):
        make_provider({"TELNYX_API_BASE": simulator.api_base})


def test_holds_number_asks_the_account_for_exactly_that_number(client, simulator):
    assert client.holds_number(CHURCH) and client.holds_number("+17735550142")  # demo, then 555-01XX
    assert not client.holds_number("+13125559876") and not client.holds_number("+1312555014")
    assert client.holds_number("22395") and not client.holds_number("99999")
    listed = httpx.get(
        f"{simulator.api_base}/phone_numbers",
        params={"filter[phone_number]": CHURCH},
        headers={"Authorization": "Bearer KEY_test"},
    ).json()
    assert listed["data"][0]["phone_number"] == CHURCH and listed["data"][0]["status"] == "active"
    assert listed["meta"]["total_results"] == 1


def test_holds_number_raises_provider_errors(simulator):
    with pytest.raises(PermanentError) as refused:
        TelnyxClient(simulator.api_base.replace("/v2", "/nowhere"), "KEY_test").holds_number(CHURCH)
    assert refused.value.http_status == 404
    with pytest.raises(TransientError):
        TelnyxClient("http://127.0.0.1:9/v2", "KEY_test", timeout=1.0).holds_number(CHURCH)


def test_missing_bearer_token_gets_telnyx_401(simulator):
    response = httpx.post(f"{simulator.api_base}/messages", json={"from": CHURCH, "to": MEMBER, "text": "x"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "10009"


def test_rate_limit_raises_with_reset_then_clears(client, simulator):
    simulator.add_fault(MEMBER, "rate_limit", times=1, reset=3)
    with pytest.raises(RateLimited) as caught:
        client.send(CHURCH, MEMBER, "hi")
    assert caught.value.retry_after == 3.0 and caught.value.code == "10011"
    assert caught.value.retryable
    client.send(CHURCH, MEMBER, "hi")
    stats = simulator.stats()
    assert stats["by_to"][MEMBER] == 1 and stats["attempts_by_to"][MEMBER] == 2


def test_server_error_is_transient_and_safe_to_retry(client, simulator):
    simulator.add_fault(MEMBER, "server_error", times=2)
    for _ in range(2):
        with pytest.raises(TransientError) as caught:
            client.send(CHURCH, MEMBER, "hi")
        assert caught.value.http_status == 500 and not caught.value.maybe_sent
    client.send(CHURCH, MEMBER, "hi")
    assert simulator.stats()["by_to"] == {MEMBER: 1}


def test_timeout_is_transient_but_may_have_been_sent(simulator):
    simulator.add_fault(MEMBER, "timeout", delay=3)
    with TelnyxClient(simulator.api_base, "KEY_test", timeout=0.3) as quick:
        started = time.monotonic()
        with pytest.raises(TransientError) as caught:
            quick.send(CHURCH, MEMBER, "hi")
        assert time.monotonic() - started < 2
    assert caught.value.maybe_sent and caught.value.code == "timeout"
    assert simulator.stats()["accepted"] == 0


def test_opted_out_is_a_permanent_opt_out(client, simulator):
    simulator.add_fault(MEMBER, "opted_out")
    with pytest.raises(OptedOut) as caught:
        client.send(CHURCH, MEMBER, "hi")
    assert isinstance(caught.value, PermanentError) and not caught.value.retryable
    assert caught.value.code == "40300" and caught.value.title == "Blocked due to STOP message"


def test_invalid_number_is_permanent(client, simulator):
    simulator.add_fault(MEMBER, "invalid")
    with pytest.raises(PermanentError) as caught:
        client.send(CHURCH, MEMBER, "hi")
    assert not isinstance(caught.value, OptedOut)
    assert (caught.value.code, caught.value.http_status) == ("40310", 400)


def test_malformed_number_gets_422_validation_error(client):
    with pytest.raises(PermanentError) as caught:
        client.send(CHURCH, "3125550142", "hi")
    assert (caught.value.code, caught.value.http_status) == ("10016", 422)


def test_delivery_failed_is_accepted_then_finalized_as_failed(client, simulator, webhook_sink):
    simulator.add_fault(MEMBER, "delivery_failed", carrier_code="30007")
    result = client.send(CHURCH, MEMBER, "hi")
    [final] = webhook_sink.wait_for(1, "message.finalized")
    payload = final["data"]["payload"]
    assert payload["id"] == result.provider_message_id
    assert payload["to"][0]["status"] == "delivery_failed"
    assert payload["errors"][0]["code"] == "30007"


def test_wildcard_fault_hits_every_destination(client, simulator):
    simulator.add_fault(kind="server_error", times=2)
    for to in (MEMBER, "+13125550143"):
        with pytest.raises(TransientError):
            client.send(CHURCH, to, "hi")
    client.send(CHURCH, MEMBER, "hi")


def test_stop_reply_blocks_further_sends_until_start(client, simulator, webhook_sink):
    simulator.inbound(MEMBER, CHURCH, "Stop")
    with pytest.raises(OptedOut):
        client.send(CHURCH, MEMBER, "hi")
    client.send("+13125550200", MEMBER, "another church's number is not blocked")
    simulator.inbound(MEMBER, CHURCH, "START")
    client.send(CHURCH, MEMBER, "welcome back")


def test_nothing_listening_is_transient_and_not_sent():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with TelnyxClient(f"http://127.0.0.1:{port}/v2", "KEY_test", timeout=1) as dead:
        with pytest.raises(TransientError) as caught:
            dead.send(CHURCH, MEMBER, "hi")
    assert not caught.value.maybe_sent


def test_one_client_shared_by_32_threads_sends_each_recipient_once(client, simulator):
    numbers = [f"+1312555{i:04d}" for i in range(400)]
    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(lambda to: client.send(CHURCH, to, "Youth group tonight!"), numbers))
    assert len({r.provider_message_id for r in results}) == 400
    stats = simulator.stats()
    assert stats["accepted"] == 400 and stats["duplicates"] == {}
    assert set(stats["by_to"]) == set(numbers)


def test_timed_fault_refuses_every_send_until_it_runs_out(simulator, client):
    r = httpx.post(f"{simulator.url}/_sim/faults", json={"kind": "server_error", "seconds": 60})
    assert r.status_code == 201 and 0 < r.json()["data"]["seconds_left"] <= 60
    for _ in range(3):  # not consumed by use, unlike `times`
        with pytest.raises(TransientError) as info:
            client.send(CHURCH, MEMBER, "hi")
        assert info.value.http_status == 500
    simulator.clear_faults()
    simulator.add_fault(kind="server_error", seconds=0.2)
    deadline = time.monotonic() + 10
    while httpx.get(f"{simulator.url}/_sim/faults").json()["data"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.send(CHURCH, MEMBER, "after the outage").status == "queued"
    assert simulator.stats()["by_to"] == {MEMBER: 1}
    assert httpx.post(f"{simulator.url}/_sim/faults", json={"kind": "timeout", "seconds": 0}).status_code == 400


def test_control_api_over_http(simulator, client):
    r = httpx.post(f"{simulator.url}/_sim/faults", json={"to": MEMBER, "kind": "server_error", "times": 1})
    assert r.status_code == 201
    assert httpx.get(f"{simulator.url}/_sim/faults").json()["data"][0]["kind"] == "server_error"
    assert httpx.delete(f"{simulator.url}/_sim/faults").status_code == 200
    client.send(CHURCH, MEMBER, "hi")
    assert httpx.get(f"{simulator.url}/_sim/messages", params={"to": MEMBER}).json()["data"][0]["text"] == "hi"
    assert httpx.get(f"{simulator.url}/_sim/stats").json()["by_to"] == {MEMBER: 1}
    httpx.delete(f"{simulator.url}/_sim/messages")
    assert httpx.get(f"{simulator.url}/_sim/stats").json()["accepted"] == 0
    assert httpx.post(f"{simulator.url}/_sim/faults", json={"kind": "nope"}).status_code == 400
