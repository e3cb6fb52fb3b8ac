"""Real concurrency on committed rows: two workers racing, and a worker SIGKILLed mid-broadcast.

These tests cannot run inside the rolled-back test transaction (other connections and
processes would not see its rows), so they commit a throwaway church and delete it after.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from app.broadcasts import tasks
from app.broadcasts.audience import AudienceSpec
from app.broadcasts.services import create_broadcast
from app.delivery import retry
from app.delivery.engine import reap_stale_claims
from app.delivery.simserver import Simulator
from app.extensions import db, rds
from app.models import Church, Member, PhoneNumber

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def committed(app, monkeypatch):
    """A committed church with 400 reachable members and the simulator wired in."""
    suffix = uuid.uuid4().hex[:8]
    sim = Simulator(webhooks=False).start()
    saved = {k: app.config.get(k) for k in ("TELNYX_API_BASE", "SMS_RATES", "TELNYX_PUBLIC_KEY")}
    app.config.update(TELNYX_API_BASE=sim.api_base, SMS_RATES={"long_code": 1000}, TELNYX_PUBLIC_KEY=sim.public_key_b64)
    monkeypatch.setattr(retry, "MAX_DELAY", 0.05)
    with app.app_context():
        rds.client.flushdb()
        church = Church(name=f"Race {suffix}", slug=f"race-{suffix}", timezone="UTC")
        church.sms_quota = 100_000
        db.session.add(church)
        db.session.flush()
        # Explicit NULLs: the model's defaults (21:00-08:00) would hold these sends otherwise.
        db.session.execute(
            text("UPDATE churches SET quiet_hours_start = NULL, quiet_hours_end = NULL WHERE id = :c"),
            {"c": church.id},
        )
        number = f"+1312{int(suffix, 16) % 10_000_000:07d}"
        db.session.add(PhoneNumber(church_id=church.id, e164=number, is_default=True))
        db.session.execute(
            insert(Member),
            [{"church_id": church.id, "first_name": f"M{i}", "phone_e164": f"+1630{i:07d}"} for i in range(400)],
        )
        db.session.commit()
        church_id = church.id
    try:
        yield church_id, sim
    finally:
        sim.stop()
        app.config.update(saved)
        with app.app_context():
            db.session.rollback()
            db.session.execute(text("DELETE FROM churches WHERE id = :c"), {"c": church_id})
            db.session.commit()


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for kid in kids:
            found += [kid, *_descendants(kid)]
    return found


def _broadcast(church_id: int) -> int:
    church = db.session.get(Church, church_id)
    return create_broadcast(
        church, None, body="Hello {first_name}", media_urls=[], spec=AudienceSpec(everyone=True), idempotency_key="x"
    ).id


def _statuses(broadcast_id: int) -> dict[str, int]:
    rows = db.session.execute(
        text("SELECT status, count(*) FROM broadcast_recipients WHERE broadcast_id = :b GROUP BY status"),
        {"b": broadcast_id},
    ).all()
    return {s: n for s, n in rows}


def test_two_workers_claiming_together_never_send_twice(app, committed):
    church_id, sim = committed
    with app.app_context():
        broadcast_id = _broadcast(church_id)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                for _ in range(100):
                    if "=" not in tasks.send_batch(broadcast_id, limit=25):
                        break
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    stats = sim.stats()
    assert stats["accepted"] == 400 and stats["duplicates"] == {}
    with app.app_context():
        assert _statuses(broadcast_id) == {"sent": 400}
        assert db.session.scalar(text("SELECT status FROM broadcasts WHERE id = :b"), {"b": broadcast_id}) == "sent"


def test_sigkilled_worker_sends_each_recipient_at_most_once(app, committed):
    church_id, sim = committed
    with app.app_context():
        broadcast_id = _broadcast(church_id)
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "SECRET_KEY": "kill-test-secret-key-0123",
        "KOINONIA_ENV": "development",
        "LOG_FORMAT": "console",
        "TELNYX_API_BASE": sim.api_base,
        "SMS_RATES": "long_code=40",  # slow enough to be mid-batch when killed
    }
    proc = subprocess.Popen(
        [sys.executable, "worker.py", "default"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while sim.stats()["accepted"] < 60 and time.monotonic() < deadline:  # mid-batch
            time.sleep(0.05)
    finally:
        # RQ runs each job in a work horse with its own session (setsid), so kill the whole tree
        # by pid: the worker, its horse (mid-batch) and its scheduler.
        for pid in [*_descendants(proc.pid), proc.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=10)
    accepted_before = sim.stats()["accepted"]
    assert 0 < accepted_before < 400
    with app.app_context():
        assert _statuses(broadcast_id).get("sending", 0) > 0
        reap_stale_claims(0)
        for _ in range(10):
            if "=" not in tasks.send_batch(broadcast_id):
                break
        statuses = _statuses(broadcast_id)
    stats = sim.stats()
    assert stats["duplicates"] == {}
    assert set(statuses) <= {"sent", "unknown"} and sum(statuses.values()) == 400
    # Every unknown row is one the dead worker had claimed; the sent ones were texted exactly once.
    assert stats["accepted"] <= 400 and stats["accepted"] >= statuses.get("sent", 0)


def test_an_edit_racing_a_start_waits_for_it_and_is_refused(app, committed):
    """The start takes the broadcast's row first: the edit waits on the lock, then sees it started."""
    from datetime import UTC, datetime, timedelta

    from app.broadcasts import control
    from app.errors import Conflict
    from app.models import Broadcast

    church_id, sim = committed
    with app.app_context():
        church = db.session.get(Church, church_id)
        broadcast = create_broadcast(
            church,
            None,
            body="Old text",
            media_urls=[],
            spec=AudienceSpec(everyone=True),
            idempotency_key=uuid.uuid4().hex,
            scheduled_at=datetime.now(UTC) + timedelta(hours=1),
        )
        broadcast_id, recipients = broadcast.id, broadcast.recipient_count
    outcome: list[object] = []

    def edit() -> None:
        with app.app_context():
            row = db.session.get(Broadcast, broadcast_id)
            try:
                control.edit_scheduled(
                    row,
                    None,
                    title=None,
                    body="New text",
                    media_urls=[],
                    spec=AudienceSpec(everyone=True),
                    scheduled_at=datetime.now(UTC) + timedelta(hours=2),
                )
                outcome.append("edited")
            except Conflict as exc:
                db.session.rollback()
                outcome.append(exc)

    with app.app_context(), db.engine.connect() as starter:
        # The scheduler's start, holding the row until it commits.
        starter.execute(
            text("UPDATE broadcasts SET status = 'sending', started_at = now() WHERE id = :b AND status = 'scheduled'"),
            {"b": broadcast_id},
        )
        thread = threading.Thread(target=edit)
        thread.start()
        thread.join(timeout=1)  # give the edit time to reach the row it must wait for
        starter.commit()
    thread.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict)
    with app.app_context():
        row = db.session.execute(
            text("SELECT body, recipient_count FROM broadcasts WHERE id = :b"), {"b": broadcast_id}
        ).one()
        assert tuple(row) == ("Old text", recipients)
        assert _statuses(broadcast_id) == {"queued": recipients}
