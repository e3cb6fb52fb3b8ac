"""Fixtures for the delivery engine: the real simulator, signed webhooks, broadcasts to send."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from app.broadcasts.audience import AudienceSpec
from app.broadcasts.services import create_broadcast
from app.delivery import retry
from app.delivery.simserver import Simulator
from app.models import Group, User
from app.security.signatures import sign_telnyx
from tests.factories import GroupFactory, MemberFactory


@pytest.fixture
def sim(app, db, no_quiet_hours, monkeypatch) -> Iterator[Simulator]:
    """The Telnyx simulator (no webhooks of its own), wired into the app's config."""
    simulator = Simulator(webhooks=False, hang_seconds=3)
    saved = {k: app.config.get(k) for k in ("TELNYX_API_BASE", "TELNYX_PUBLIC_KEY", "TELNYX_TIMEOUT", "SMS_RATES")}
    with simulator:
        app.config.update(
            TELNYX_API_BASE=simulator.api_base,
            TELNYX_PUBLIC_KEY=simulator.public_key_b64,
            TELNYX_TIMEOUT=1.0,
            SMS_RATES={"long_code": 1000},
        )
        # Backoff keeps its shape (exponential, jittered, capped) at a test-friendly scale.
        monkeypatch.setattr(retry, "BASE_DELAY", 0.01)
        monkeypatch.setattr(retry, "MAX_DELAY", 0.05)
        try:
            yield simulator
        finally:
            app.config.update(saved)


@pytest.fixture
def no_quiet_hours(db, church):
    """Tests send at any hour; the quiet-hours test sets its own."""
    church.quiet_hours_start = church.quiet_hours_end = None
    db.session.flush()


@pytest.fixture
def owner(db, church) -> User:
    return db.session.scalar(select(User).where(User.email == "admin@example.org"))


@pytest.fixture
def small_group(db, church) -> Group:
    """A group of five reachable members with distinct names (merge fields show)."""
    group = GroupFactory(church_id=church.id, name=f"Engine {uuid.uuid4().hex[:6]}")
    from app.models import GroupMember

    for i in range(5):
        member = MemberFactory(church_id=church.id, first_name=f"Ann{i}", phone_e164=f"+1773666{i:04d}")
        db.session.add(GroupMember(church_id=church.id, group_id=group.id, member_id=member.id))
    db.session.flush()
    return group


@pytest.fixture
def send_to(church, owner):
    """Create a broadcast to a spec (sent now), returning it."""

    def _send(spec: AudienceSpec, body: str = "Hi {first_name|friend}, see you Sunday at {church_name}!", **kw):
        return create_broadcast(
            church,
            owner,
            body=body,
            media_urls=[],
            spec=spec,
            idempotency_key=kw.pop("idempotency_key", uuid.uuid4().hex),
            **kw,
        )

    return _send


def envelope(event_type: str, payload: dict, event_id: str | None = None) -> dict:
    return {
        "data": {
            "record_type": "event",
            "id": event_id or str(uuid.uuid4()),
            "event_type": event_type,
            "occurred_at": "2026-01-01T00:00:00.000+00:00",
            "payload": payload,
        },
        "meta": {"attempt": 1, "delivered_to": "http://localhost/webhooks/telnyx"},
    }


def status_payload(message_id: str, status: str, to: str, from_: str, code: str | None = None) -> dict:
    return {
        "id": message_id,
        "direction": "outbound",
        "from": {"phone_number": from_},
        "to": [{"phone_number": to, "status": status}],
        "parts": 1,
        "cost": {"amount": "0.0040", "currency": "USD"},
        "errors": [{"code": code, "title": "Carrier violation"}] if code else [],
        "sent_at": "2026-01-01T00:00:00.000+00:00",
        "completed_at": "2026-01-01T00:00:01.000+00:00" if status != "sent" else None,
    }


def post_signed(client, sim: Simulator, body: dict | bytes, *, timestamp: int | None = None, key=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = sign_telnyx(raw, key or sim.private_key, int(time.time()) if timestamp is None else timestamp)
    return client.post("/webhooks/telnyx", data=raw, headers={**headers, "Content-Type": "application/json"})


# The recording webhook receiver is the delivery layer's fixture; reuse it rather than copy it.
from tests.integration.delivery.conftest import webhook_sink  # noqa: E402,F401
