"""Pausing, resuming and resending a broadcast from its page, through the simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from app.broadcasts import control, tasks
from app.broadcasts.audience import AudienceSpec
from app.broadcasts.services import BATCH_SIZE, start_due_broadcasts
from app.models import AuditLog, Broadcast, BroadcastRecipient


def statuses(db, broadcast) -> dict[str, int]:
    rows = db.session.execute(
        select(BroadcastRecipient.status, func.count())
        .where(BroadcastRecipient.broadcast_id == broadcast.id)
        .group_by(BroadcastRecipient.status)
    )
    return dict(rows.all())


def test_pause_stops_claims_at_the_next_batch_and_resume_sends_everyone_once(
    db, app, church, sim, owner, send_to, monkeypatch
):
    broadcast = send_to(AudienceSpec(everyone=True))
    monkeypatch.setitem(app.config, "SEND_CONCURRENCY", 2)
    real_claim = tasks.claim
    after_pause: list[int] = []
    paused = []

    def claim_then_pause(broadcast_id, limit=BATCH_SIZE):
        rows = real_claim(broadcast_id, limit)
        if paused:
            after_pause.append(len(rows))
        elif rows:
            # Someone presses Pause while the first rows are on their way.
            control.pause(db.session.get(Broadcast, broadcast_id), owner)
            paused.append(len(rows))
        return rows

    monkeypatch.setattr(tasks, "claim", claim_then_pause)
    tasks.send_batch(broadcast.id)
    db.session.refresh(broadcast)
    assert broadcast.status == "paused"
    assert after_pause and set(after_pause) == {0}  # the next claim took nothing
    counts = statuses(db, broadcast)
    assert counts["sent"] == paused[0] and counts["queued"] == broadcast.recipient_count - paused[0]
    assert len(sim.messages()) == paused[0]

    # A batch job that runs while paused sends nothing.
    assert tasks.send_batch(broadcast.id) == "broadcast is paused"
    assert len(sim.messages()) == paused[0]

    monkeypatch.setattr(tasks, "claim", real_claim)
    assert control.resume(broadcast, owner) >= 1
    assert "sent=" in tasks.send_batch(broadcast.id)
    db.session.refresh(broadcast)
    assert broadcast.status == "sent" and statuses(db, broadcast) == {"sent": broadcast.recipient_count}
    stats = sim.stats()
    assert not stats["duplicates"]
    assert len(stats["attempts_by_to"]) == broadcast.recipient_count
    assert set(stats["attempts_by_to"].values()) == {1}
    actions = db.session.scalars(
        select(AuditLog.action).where(AuditLog.target_id == broadcast.id).order_by(AuditLog.id)
    ).all()
    assert "broadcast.paused" in actions and "broadcast.resumed" in actions


def test_pause_and_resume_buttons_for_those_who_may_send(client, db, church, sim, login_as, send_to):
    broadcast = send_to(AudienceSpec(everyone=True))
    db.session.commit()
    login_as("leader")  # sees the broadcast (it reached Youth) but did not make it
    page = client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    assert "Pause sending" not in page and "Resume sending" not in page
    assert client.post(f"/broadcasts/{broadcast.id}/pause").status_code == 403

    login_as("owner")
    page = client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    assert "Pause sending" in page and "Resume sending" not in page
    response = client.post(f"/broadcasts/{broadcast.id}/pause")
    assert response.status_code == 302
    db.session.refresh(broadcast)
    assert broadcast.status == "paused"
    page = client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    assert "Resume sending" in page and "Pause sending" not in page
    # Pausing twice is refused in words, not an error page.
    client.post(f"/broadcasts/{broadcast.id}/pause")
    assert "Only a broadcast that is sending" in client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)

    client.post(f"/broadcasts/{broadcast.id}/resume")
    db.session.refresh(broadcast)
    assert broadcast.status == "sending"
    tasks.send_batch(broadcast.id)
    assert statuses(db, broadcast) == {"sent": broadcast.recipient_count}


def test_resend_to_failed_sends_only_retryable_failures_once(client, db, church, sim, small_group, send_to, login_as):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    tasks.send_batch(broadcast.id)
    rows = db.session.scalars(
        select(BroadcastRecipient)
        .where(BroadcastRecipient.broadcast_id == broadcast.id)
        .order_by(BroadcastRecipient.id)
    ).all()
    busy, landline = rows[0], rows[1]
    # What status webhooks would have written: a carrier that was down, and a landline.
    for row, code in ((busy, "40006"), (landline, "30006")):
        db.session.execute(
            update(BroadcastRecipient).where(BroadcastRecipient.id == row.id).values(status="failed", error_code=code)
        )
    db.session.commit()
    login_as("owner")
    page = client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    assert "The recipient&#39;s carrier was unavailable." in page and "landline" in page
    assert "Resend to failed" in page

    first = client.post(f"/broadcasts/{broadcast.id}/resend-failed")
    again = client.post(f"/broadcasts/{broadcast.id}/resend-failed")
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    resends = db.session.scalars(
        select(Broadcast).where(Broadcast.idempotency_key == f"resend-failed-{broadcast.id}")
    ).all()
    assert len(resends) == 1
    resend = resends[0]
    targets = db.session.scalars(
        select(BroadcastRecipient.to_e164).where(BroadcastRecipient.broadcast_id == resend.id)
    ).all()
    assert targets == [busy.to_e164]
    before = len(sim.messages())
    tasks.send_batch(resend.id)
    assert [m["to"] for m in sim.messages()[before:]] == [busy.to_e164]


def test_nothing_to_resend_when_every_failure_is_permanent(client, db, church, sim, small_group, send_to, login_as):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    tasks.send_batch(broadcast.id)
    db.session.execute(
        update(BroadcastRecipient)
        .where(BroadcastRecipient.broadcast_id == broadcast.id)
        .values(status="failed", error_code="30006")
    )
    db.session.commit()
    login_as("owner")
    assert "Resend to failed" not in client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    client.post(f"/broadcasts/{broadcast.id}/resend-failed")
    page = client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    assert "sending again could fix" in page
    assert db.session.scalar(select(func.count()).select_from(Broadcast).where(Broadcast.church_id == church.id)) >= 1
    assert not db.session.scalar(select(Broadcast).where(Broadcast.idempotency_key == f"resend-failed-{broadcast.id}"))


CHICAGO = ZoneInfo("America/Chicago")  # Grace Community Church's time zone


def _scheduled(send_to, spec, hours: int = 24):
    return send_to(spec, body="Old text", scheduled_at=datetime.now(UTC) + timedelta(hours=hours))


def _edit_form(group_id: int, body: str, when: str = "later") -> dict:
    local = datetime.now(CHICAGO) + timedelta(days=2)
    return {
        "body": body,
        "group_ids": [str(group_id)],
        "when": when,
        "send_date": local.date().isoformat(),
        "send_time": "09:30",
        "idempotency_key": "edit",
    }


def test_edit_a_scheduled_broadcast_before_it_starts(client, db, church, sim, small_group, send_to, login_as):
    broadcast = _scheduled(send_to, AudienceSpec(everyone=True))
    db.session.commit()
    login_as("leader")  # did not make it: no Edit button, and the page refuses
    assert ">Edit</a>" not in client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    assert client.get(f"/broadcasts/{broadcast.id}/edit").status_code in (403, 404)

    login_as("owner")
    assert ">Edit</a>" in client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    form = client.get(f"/broadcasts/{broadcast.id}/edit").get_data(as_text=True)
    assert "Old text" in form and "Save changes" in form and 'value="repeat"' not in form

    bad = client.post(f"/broadcasts/{broadcast.id}/edit", data={**_edit_form(small_group.id, ""), "when": "later"})
    assert bad.status_code == 422 and "Write the message first." in bad.get_data(as_text=True)

    response = client.post(f"/broadcasts/{broadcast.id}/edit", data=_edit_form(small_group.id, "New text"))
    assert response.status_code == 302
    db.session.refresh(broadcast)
    assert broadcast.status == "scheduled" and broadcast.body == "New text" and broadcast.recipient_count == 5
    assert broadcast.scheduled_at.astimezone(CHICAGO).strftime("%H:%M") == "09:30"
    assert statuses(db, broadcast) == {"queued": 5}
    assert db.session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == "broadcast.edited", AuditLog.target_id == broadcast.id)
    )

    # Its time comes: the edited text goes to the edited audience, once each.
    db.session.execute(update(Broadcast).where(Broadcast.id == broadcast.id).values(scheduled_at=func.now()))
    start_due_broadcasts()
    tasks.send_batch(broadcast.id)
    texts = {m["text"] for m in sim.messages()}
    assert texts == {"New text"} and len(sim.messages()) == 5


def test_an_edit_after_the_start_is_refused(client, db, church, sim, small_group, send_to, login_as):
    broadcast = _scheduled(send_to, AudienceSpec(group_ids=[small_group.id]))
    db.session.execute(update(Broadcast).where(Broadcast.id == broadcast.id).values(scheduled_at=func.now()))
    start_due_broadcasts()
    login_as("owner")
    assert ">Edit</a>" not in client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    assert client.get(f"/broadcasts/{broadcast.id}/edit").status_code == 302
    response = client.post(f"/broadcasts/{broadcast.id}/edit", data=_edit_form(small_group.id, "New text"))
    assert response.status_code == 302
    db.session.refresh(broadcast)
    assert broadcast.body == "Old text" and broadcast.status == "sending"
    assert "can no longer be changed" in client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
