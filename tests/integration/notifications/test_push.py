"""Web Push: subscribing from the notifications page, and a new reply reaching the assignee's device.

The push service is a real HTTP server on loopback; what it receives is decrypted with the
browser's private key and auth secret (RFC 8291), and the VAPID JWT is verified (RFC 8292).
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select

from app.extensions import rds
from app.inbox.inbound import handle_received
from app.models import Conversation, Member, PushSubscription
from app.notifications.services import Preferences, save_preferences
from app.notifications.subscriptions import endpoint_allowed
from app.notifications.vapid import new_key_pair, signer
from tests.integration.inbox.conftest import conversation_of, telnyx_payload
from tests.integration.notifications.conftest import BrowserKeys, default_jobs, run_default_queue


def _b64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _verified_claims(authorization: str, public_key: str) -> dict:
    """The claims of `vapid t=<JWT>, k=<key>` after checking its ES256 signature with `public_key`."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == public_key
    header, claims, signature = fields["t"].split(".")
    raw = _b64(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _b64(public_key))
    key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    assert json.loads(_b64(header))["alg"] == "ES256"
    return json.loads(_b64(claims))


@pytest.fixture
def leader(db, login_as):
    return login_as("leader")


def _members(db, church) -> list[Member]:
    """Members with no conversation yet, who can text in."""
    has_thread = select(Conversation.id).where(Conversation.member_id == Member.id).exists()
    return db.session.scalars(
        select(Member)
        .where(Member.church_id == church.id, Member.opted_out_at.is_(None), ~has_thread)
        .order_by(Member.id)
        .limit(5)
    ).all()


def _thread(db, church, user, member=None):
    """A member's thread on the church's number (opened by a first text), assigned to `user`."""
    member = member or _members(db, church)[0]
    handle_received(telnyx_payload(member.phone_e164, text="Hi"), None)
    conversation = conversation_of(db, church, member.phone_e164)
    conversation.assignee_id = user.id if user else None
    db.session.commit()
    rds.queue("default").empty()
    return member, conversation


def _assigned_thread(db, church, user):
    return _thread(db, church, user)


def _subscribe(client, endpoint: str, keys: BrowserKeys):
    return client.post("/account/notifications/push", json=keys.subscription(endpoint))


def test_a_new_reply_reaches_the_assignees_device_encrypted_and_signed(
    app, client, db, church, leader, vapid, push_service
):
    keys = BrowserKeys.generate()
    endpoint = f"{push_service.url}/push/leader-phone"
    response = _subscribe(client, endpoint, keys)
    assert response.status_code == 200 and response.get_json() == {"subscribed": True, "devices": 1}
    member, conversation = _assigned_thread(db, church, leader)

    handle_received(telnyx_payload(member.phone_e164, text="Can you call me about Sunday?"), None)
    db.session.commit()
    assert [job.func_name for job in default_jobs()] == ["app.notifications.push.notify_inbound"]
    run_default_queue()

    [posted] = push_service.received
    assert posted.path == "/push/leader-phone"
    assert posted.headers["content-encoding"] == "aes128gcm"
    assert int(posted.headers["ttl"]) > 0
    payload = keys.decrypt(posted.body)
    name = f"{member.first_name} {member.last_name}".strip()
    assert payload == {
        "title": f"New text from {name}",
        "body": "Open the thread to read it.",
        "url": f"{app.config['APP_BASE_URL']}/inbox/{conversation.id}",
        "tag": f"conversation-{conversation.id}",
    }
    claims = _verified_claims(posted.headers["authorization"], vapid)
    assert claims["aud"] == push_service.url and claims["sub"] == "mailto:ops@example.org"
    assert claims["exp"] > time.time()
    sub = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    db.session.refresh(sub)
    assert sub.last_success_at is not None and sub.failures == 0


def test_the_text_is_sent_only_to_those_who_chose_it(client, db, church, leader, vapid, push_service, app):
    keys = BrowserKeys.generate()
    _subscribe(client, f"{push_service.url}/push/a", keys)
    save_preferences(leader, Preferences(include_text=True))
    member, _ = _assigned_thread(db, church, leader)
    handle_received(telnyx_payload(member.phone_e164, text="Running late, save me a seat"), None)
    db.session.commit()
    run_default_queue()
    assert keys.decrypt(push_service.received[0].body)["body"] == "Running late, save me a seat"


def test_a_bad_signature_would_be_caught(vapid):
    """The JWT check above is a real one: a token signed by another key fails it."""
    _, other_private = new_key_pair()
    headers = signer(other_private).sign({"sub": "mailto:ops@example.org", "aud": "http://x", "exp": 2**31})
    with pytest.raises(InvalidSignature):
        _verified_claims(headers["Authorization"].replace(headers["Authorization"].split("k=")[1], vapid), vapid)


def test_a_gone_subscription_is_deleted(client, db, church, leader, vapid, push_service):
    keys = BrowserKeys.generate()
    _subscribe(client, f"{push_service.url}/push/gone", keys)
    push_service.status["/push/gone"] = 410
    member, _ = _assigned_thread(db, church, leader)
    handle_received(telnyx_payload(member.phone_e164, text="Hello?"), None)
    db.session.commit()
    run_default_queue()
    assert len(push_service.received) == 1
    assert db.session.scalar(select(PushSubscription).where(PushSubscription.user_id == leader.id)) is None


def test_a_failing_push_service_is_retried_for_that_device_only(client, db, church, leader, vapid, push_service):
    good, bad = BrowserKeys.generate(), BrowserKeys.generate()
    _subscribe(client, f"{push_service.url}/push/good", good)
    _subscribe(client, f"{push_service.url}/push/busy", bad)
    push_service.status["/push/busy"] = 503
    member, _ = _assigned_thread(db, church, leader)
    handle_received(telnyx_payload(member.phone_e164, text="Hello?"), None)
    db.session.commit()
    [job] = default_jobs()
    job.perform()  # notify_inbound, without running the retry it queues
    db.session.commit()
    busy = db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint.endswith("/push/busy")))
    db.session.refresh(busy)
    assert busy.failures == 1
    [retry] = [j for j in default_jobs() if j.func_name == "app.notifications.push.deliver"]
    assert retry.args[0] == busy.id and retry.retries_left == 3
    assert sorted(p.path for p in push_service.received) == ["/push/busy", "/push/good"]

    push_service.status["/push/busy"] = 201  # the service is back
    retry.perform()
    assert [p.path for p in push_service.received][-1] == "/push/busy"
    assert bad.decrypt(push_service.received[-1].body)["title"].startswith("New text from")


def test_no_push_for_unassigned_threads_or_when_turned_off(client, db, church, leader, vapid, push_service):
    _subscribe(client, f"{push_service.url}/push/a", BrowserKeys.generate())
    member, _ = _thread(db, church, None)
    handle_received(telnyx_payload(member.phone_e164, text="Anyone?"), None)
    db.session.commit()
    assert default_jobs() == []  # nobody to push to: no job at all

    save_preferences(leader, Preferences(push=False))
    other, _ = _thread(db, church, leader, _members(db, church)[1])
    handle_received(telnyx_payload(other.phone_e164, text="Hello"), None)
    db.session.commit()
    run_default_queue()
    assert push_service.received == []


def test_subscriptions_are_checked_before_they_are_kept(client, db, leader, push_service):
    keys = BrowserKeys.generate()
    good = keys.subscription(f"{push_service.url}/push/x")
    cases = {
        "https://evil.example.com/push": "endpoint",
        "http://fcm.googleapis.com/fcm/send/abc": "endpoint",
        "https://fcm.googleapis.com.evil.example/x": "endpoint",
        "https://user@fcm.googleapis.com/fcm/send/abc": "endpoint",
        "https://10.0.0.1/push": "endpoint",
        "https://fcm.googleapis.com/" + "a" * 2000: "endpoint",
    }
    for endpoint, field in cases.items():
        response = client.post("/account/notifications/push", json={**good, "endpoint": endpoint})
        assert response.status_code == 422, endpoint
        assert field in response.get_json()["error"]["details"]
    bad_keys = {**good, "keys": {"p256dh": base64.urlsafe_b64encode(b"\x04" + b"\x01" * 64).decode(), "auth": "x"}}
    details = client.post("/account/notifications/push", json=bad_keys).get_json()["error"]["details"]
    assert set(details) == {"p256dh", "auth"}
    assert client.post("/account/notifications/push", data="not json").status_code == 422
    big = client.post("/account/notifications/push", json={**good, "pad": "x" * 5000})
    assert big.status_code == 413
    assert db.session.scalar(select(PushSubscription).where(PushSubscription.user_id == leader.id)) is None


def test_production_takes_only_real_push_services():
    for url in (
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://web.push.apple.com/QGx",
        "https://api.push.apple.com/3/device/abc",
        "https://wns2-par02p.notify.windows.com/w/?token=abc",
    ):
        assert endpoint_allowed(url, "production"), url
    for url in ("http://127.0.0.1:9000/push", "https://localhost/push", "https://fcm.googleapis.com:8443/x"):
        assert not endpoint_allowed(url, "production"), url
        assert endpoint_allowed("http://127.0.0.1:9000/push", "test")


def test_a_device_belongs_to_whoever_subscribed_last_and_only_they_remove_it(client, db, login_as, push_service):
    keys = BrowserKeys.generate()
    endpoint = f"{push_service.url}/push/shared-phone"
    owner = login_as("owner")
    _subscribe(client, endpoint, keys)
    leader = login_as("leader")
    _subscribe(client, endpoint, keys)
    subs = db.session.scalars(select(PushSubscription).where(PushSubscription.endpoint == endpoint)).all()
    assert [s.user_id for s in subs] == [leader.id]

    login_as("owner")
    answer = client.post("/account/notifications/push/delete", json={"endpoint": endpoint})
    assert answer.get_json()["removed"] is False  # not the owner's any more
    login_as("leader")
    assert client.post("/account/notifications/push/delete", json={"endpoint": endpoint}).get_json()["removed"]
    assert db.session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint)) is None
    assert owner.id != leader.id


def test_subscribing_needs_the_csrf_header(app, client, db, leader, push_service):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        body = BrowserKeys.generate().subscription(f"{push_service.url}/push/csrf")
        assert client.post("/account/notifications/push", json=body).status_code == 400
        html = client.get("/account/notifications").get_data(as_text=True)
        token = html.split('"X-CSRFToken": "')[1].split('"')[0]
        response = client.post("/account/notifications/push", json=body, headers={"X-CSRFToken": token})
        assert response.status_code == 200
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_the_page_offers_push_only_with_vapid_keys(client, db, leader, app, vapid):
    html = client.get("/account/notifications").get_data(as_text=True)
    assert f'data-vapid-key="{vapid}"' in html and 'id="push-enable"' in html
    assert '<script src="/static/js/push.js" defer></script>' in html
    app.config["VAPID_PUBLIC_KEY"] = None
    html = client.get("/account/notifications").get_data(as_text=True)
    assert "not set up on this server" in html and 'id="push-enable"' not in html
