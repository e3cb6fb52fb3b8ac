"""/api/v1/webhook-endpoints: the secret once, SSRF refusals, scopes, deliveries, another church's ids."""

from __future__ import annotations

from standardwebhooks.webhooks import Webhook

from tests.integration.webhooks_out.conftest import run_worker

EVENTS = ["member.created", "member.opted_out"]


def test_create_answers_the_secret_once_and_never_again(api, receiver):
    response = api.post("/api/v1/webhook-endpoints", json={"url": receiver.url, "events": EVENTS})
    assert response.status_code == 201
    made = response.get_json()["data"]
    assert made["secret"].startswith("whsec_") and Webhook(made["secret"])  # a key the library takes
    assert made["events"] == EVENTS and made["state"] == "enabled"
    shown = api.get(f"/api/v1/webhook-endpoints/{made['id']}").get_json()["data"]
    assert "secret" not in shown and shown["url"] == receiver.url
    listed = api.get("/api/v1/webhook-endpoints").get_json()
    assert [e["id"] for e in listed["data"]] == [made["id"]] and listed["next_cursor"] is None


def test_change_turn_off_and_delete(api, receiver):
    made = api.post("/api/v1/webhook-endpoints", json={"url": receiver.url, "events": EVENTS}).get_json()["data"]
    path = f"/api/v1/webhook-endpoints/{made['id']}"
    changed = api.patch(path, json={"events": ["broadcast.completed"], "disabled": True}).get_json()["data"]
    assert changed["events"] == ["broadcast.completed"] and changed["state"] == "disabled"
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404


def test_a_test_event_and_its_deliveries(api, receiver):
    made = api.post("/api/v1/webhook-endpoints", json={"url": receiver.url, "events": EVENTS}).get_json()["data"]
    response = api.post(f"/api/v1/webhook-endpoints/{made['id']}/test")
    assert response.status_code == 202 and response.get_json()["data"]["status"] == "pending"
    run_worker()
    [body] = receiver.verified(made["secret"])
    assert body["type"] == "webhook.test" and body["data"]["endpoint_id"] == made["id"]
    [delivery] = api.get(f"/api/v1/webhook-endpoints/{made['id']}/deliveries").get_json()["data"]
    assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == ("delivered", 1, 200)
    assert delivery["event_id"] == receiver.requests[0][0]["webhook-id"]


def test_urls_that_point_inward_are_refused(api, app):
    for url in (
        "https://10.0.0.7/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://192.168.1.1/",
        "https://[::ffff:10.0.0.1]/",
        "https://user:pass@127.0.0.1/",
        "ftp://127.0.0.1/",
        "https://no-such-host.invalid/",
    ):
        response = api.post("/api/v1/webhook-endpoints", json={"url": url, "events": EVENTS})
        assert response.status_code == 422, url
        assert response.get_json()["error"]["details"]["url"], url
    app.config["KOINONIA_ENV"] = "production"
    try:
        response = api.post("/api/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hook", "events": EVENTS})
    finally:
        app.config["KOINONIA_ENV"] = "test"
    assert response.status_code == 422 and "https" in response.get_json()["error"]["details"]["url"][0]


def test_unknown_events_are_field_errors(api, receiver):
    response = api.post("/api/v1/webhook-endpoints", json={"url": receiver.url, "events": ["member.deleted"]})
    assert response.status_code == 422 and "events" in response.get_json()["error"]["details"]


def test_the_scope_is_needed(api_as, receiver):
    response = api_as(["read"]).get("/api/v1/webhook-endpoints")
    assert response.status_code == 403


def test_another_churchs_endpoint_is_not_found(api, api_as, receiver):
    made = api.post("/api/v1/webhook-endpoints", json={"url": receiver.url, "events": EVENTS}).get_json()["data"]
    hope = api_as(church="hope")
    for method, suffix in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/test"), ("GET", "/deliveries")):
        response = hope.open(method, f"/api/v1/webhook-endpoints/{made['id']}{suffix}", json={})
        assert response.status_code == 404, (method, suffix)
    assert hope.get("/api/v1/webhook-endpoints").get_json()["data"] == []


def test_the_same_idempotency_key_replays_the_secret(api, receiver):
    body = {"url": receiver.url, "events": EVENTS}
    first = api.post("/api/v1/webhook-endpoints", json=body, headers={"Idempotency-Key": "hook-1"})
    again = api.post("/api/v1/webhook-endpoints", json=body, headers={"Idempotency-Key": "hook-1"})
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert len(api.get("/api/v1/webhook-endpoints").get_json()["data"]) == 1
