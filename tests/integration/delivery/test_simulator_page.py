"""The simulator's page at /: text in as a member, see what was sent, program faults."""

from __future__ import annotations

import httpx

from app.delivery.simmail import MailSink
from app.delivery.telnyx import TelnyxClient
from app.security.signatures import verify_telnyx_signature

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def page(sim) -> httpx.Response:
    return httpx.get(f"{sim.url}/")


def post(sim, path: str, data: dict, **headers: str) -> httpx.Response:
    return httpx.post(f"{sim.url}{path}", data=data, headers=headers, follow_redirects=False)


def test_the_page_shows_its_forms_and_what_was_sent(simulator):
    first = page(simulator)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/html")
    assert "form-action 'self'" in first.headers["content-security-policy"]
    html = first.text
    assert 'action="/inbound"' in html and 'action="/faults"' in html
    assert "+13125550100" in html  # the demo church numbers to text
    assert "Nothing sent yet" in html

    client = TelnyxClient(api_key="KEY_TEST", api_base=simulator.api_base, timeout=5.0)
    client.send(from_="+13125550100", to="+13125551001", text="Service at 10am")
    html = page(simulator).text
    assert "Service at 10am" in html
    assert "<option>+13125551001</option>" in html  # a recent recipient to text in as
    assert "/mail" not in html  # no mail sink, no link


def test_the_page_escapes_what_it_shows(simulator):
    client = TelnyxClient(api_key="KEY_TEST", api_base=simulator.api_base, timeout=5.0)
    client.send(from_="+13125550100", to="+13125551001", text=HOSTILE)
    html = page(simulator).text
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html

    answer = post(simulator, "/inbound", {"from_other": HOSTILE, "to": "+13125550100", "text": HOSTILE})
    assert answer.status_code == 422
    assert HOSTILE not in answer.text and "<script>" not in answer.text
    assert "international format" in answer.text


def test_the_inbound_form_posts_a_signed_webhook(simulator, webhook_sink):
    answer = post(
        simulator, "/inbound", {"from": "", "from_other": "+13125551234", "to": "+13125550100", "text": "Hello church"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/?done=inbound")
    (event,) = webhook_sink.wait_for(1, "message.received")
    payload = event["data"]["payload"]
    assert payload["from"]["phone_number"] == "+13125551234"
    assert payload["to"][0]["phone_number"] == "+13125550100"
    assert payload["text"] == "Hello church"
    received = webhook_sink.received[0]
    verify_telnyx_signature(
        received.body,
        received.headers["telnyx-signature-ed25519"],
        received.headers["telnyx-timestamp"],
        simulator.public_key_b64,
    )
    shown = httpx.get(f"{simulator.url}{answer.headers['location']}").text
    assert "Text sent in" in shown and "+13125551234" in shown


def test_a_failed_inbound_form_keeps_what_was_typed(simulator, webhook_sink):
    answer = post(simulator, "/inbound", {"from_other": "+13125551234", "to": "+13125550100", "text": ""})
    assert answer.status_code == 422
    assert 'value="+13125551234"' in answer.text
    assert 'id="text-error"' in answer.text
    assert webhook_sink.received == []


def test_forms_from_another_origin_are_refused(simulator, webhook_sink):
    data = {"from_other": "+13125551234", "to": "+13125550100", "text": "Hi"}
    assert post(simulator, "/inbound", data, Origin="http://evil.example").status_code == 403
    assert post(simulator, "/inbound", data, **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert post(simulator, "/faults/clear", {}, Host="evil.example").status_code == 421
    assert webhook_sink.received == []


def test_the_fault_switch_makes_sends_fail_until_cleared(simulator):
    answer = post(simulator, "/faults", {"kind": "server_error", "to": "", "times": ""})
    assert answer.status_code == 303
    assert "server_error" in page(simulator).text
    plain = httpx.post(
        f"{simulator.api_base}/messages",
        json={"from": "+13125550100", "to": "+13125551001", "text": "Hi"},
        headers={"Authorization": "Bearer KEY_TEST"},
    )
    assert plain.status_code == 500

    assert post(simulator, "/faults", {"kind": "meltdown"}).status_code == 422
    assert post(simulator, "/faults", {"kind": "timeout", "delay": "9999"}).status_code == 422

    assert post(simulator, "/faults/clear", {}).status_code == 303
    assert simulator.faults.as_list() == []
    again = httpx.post(
        f"{simulator.api_base}/messages",
        json={"from": "+13125550100", "to": "+13125551001", "text": "Hi"},
        headers={"Authorization": "Bearer KEY_TEST"},
    )
    assert again.status_code == 200


def test_the_page_links_the_mail_sink_when_one_runs(simulator):
    simulator.mail_sink = MailSink()
    assert 'href="/mail"' in page(simulator).text
