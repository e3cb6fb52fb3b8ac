"""/settings/webhooks: owners add endpoints (the secret shown once), see deliveries, test, resend, turn off."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.models import AuditLog, WebhookDelivery, WebhookEndpoint
from tests.integration.webhooks_out.conftest import run_worker


def _add(client, url, events=("member.created",)):
    return client.post("/settings/webhooks", data={"url": url, "events": list(events), "description": "CRM"})


def test_an_owner_adds_an_endpoint_and_sees_the_secret_once(db, client, login_as, receiver):
    login_as("owner")
    response = _add(client, receiver.url)
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", response.get_data(as_text=True)).group(0)
    page = client.get("/settings/webhooks").get_data(as_text=True)
    assert receiver.url in page and secret not in page
    endpoint = db.session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.url == receiver.url))
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "webhook.created")).target_id == endpoint.id


def test_a_refused_url_is_an_error_by_the_field_and_keeps_what_was_typed(db, client, login_as):
    login_as("owner")
    response = _add(client, "https://10.0.0.9/hook")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="url-error"' in html and "private" in html and 'value="https://10.0.0.9/hook"' in html


def test_admins_and_leaders_are_kept_out(db, client, login_as):
    for role in ("admin", "leader"):
        login_as(role)
        assert client.get("/settings/webhooks").status_code == 403


def test_test_event_resend_turn_off_and_delete(db, client, login_as, receiver):
    login_as("owner")
    _add(client, receiver.url)
    endpoint = db.session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.url == receiver.url))
    base = f"/settings/webhooks/{endpoint.id}"
    assert client.post(f"{base}/test").status_code == 302
    run_worker()
    page = client.get(base).get_data(as_text=True)
    assert "webhook.test" in page and "Delivered" in page and "HTTP 200" in page
    delivery = db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    client.post(f"{base}/deliveries/{delivery.id}/resend")
    run_worker()
    assert [h["webhook-id"] for h, _ in receiver.requests] == [delivery.event_id] * 2
    client.post(f"{base}/disable")
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id).state == "disabled"
    client.post(f"{base}/enable")
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id).state == "enabled"
    client.post(f"{base}/delete")
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id) is None
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("webhook.%"))))
    assert {"webhook.created", "webhook.tested", "webhook.resent", "webhook.disabled", "webhook.enabled"} <= actions


def test_forms_need_a_csrf_token(app, db, client, login_as, receiver):
    login_as("owner")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert _add(client, receiver.url).status_code in (400, 422)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.url == receiver.url)) is None


def test_a_connect_card_member_is_reported(db, client, hook, receiver, card, simulator):
    from tests.integration.connect.conftest import CARD, card_data

    response = client.post(CARD, data=card_data(client))
    assert response.status_code == 303
    run_worker()
    [body] = [b for b in receiver.verified(hook.secret) if b["type"] == "member.created"]
    assert body["data"]["phone"] == "+13125550177" and body["data"]["source"] == "card"
    assert body["data"]["opted_out"] is True  # not opted in until they reply YES
