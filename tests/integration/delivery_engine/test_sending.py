"""Broadcast creation and sending through the simulator: batches, faults, retries, opt-outs."""

from __future__ import annotations

import math

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from app.broadcasts import sending, tasks
from app.broadcasts.audience import AudienceSpec, audience_counts
from app.broadcasts.services import BATCH_SIZE, broadcast_progress, cancel_broadcast
from app.dead_letters import replay_dead_letter
from app.delivery.guards import circuit_breaker
from app.errors import ValidationError
from app.extensions import rds
from app.models import BroadcastRecipient, ConsentEvent, DeadLetter, Member


def recipients(db, broadcast):
    return db.session.scalars(
        select(BroadcastRecipient)
        .where(BroadcastRecipient.broadcast_id == broadcast.id)
        .order_by(BroadcastRecipient.id)
    ).all()


def test_everyone_is_written_set_based_once_per_key_and_batches_enqueued(db, church, send_to):
    spec = AudienceSpec(everyone=True)
    counts = audience_counts(church.id, spec)
    first = send_to(spec, idempotency_key="double-click")
    again = send_to(spec, idempotency_key="double-click")
    assert again.id == first.id
    assert first.status == "sending" and first.recipient_count == counts.recipients
    assert counts.opted_out > 0  # the seed has opted-out members; none of them is a recipient
    opted_out = db.session.scalar(
        select(func.count())
        .select_from(BroadcastRecipient)
        .join(Member, Member.id == BroadcastRecipient.member_id)
        .where(BroadcastRecipient.broadcast_id == first.id, Member.opted_out_at.is_not(None))
    )
    assert opted_out == 0
    assert rds.queue("default").count == math.ceil(counts.recipients / BATCH_SIZE)


def test_refuses_empty_audience_and_over_allowance(db, church, send_to):
    with pytest.raises(ValidationError, match="Choose who"):
        send_to(AudienceSpec())
    church.sms_quota = 3
    db.session.flush()
    with pytest.raises(ValidationError, match="segments"):
        send_to(AudienceSpec(everyone=True))


def test_batch_sends_with_merge_fields_and_finishes(db, church, sim, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    assert "sent=5" in tasks.send_batch(broadcast.id)
    rows = recipients(db, broadcast)
    assert {r.status for r in rows} == {"sent"} and all(r.provider_message_id for r in rows)
    texts = sorted(m["text"] for m in sim.messages())
    assert texts[0] == f"Hi Ann0, see you Sunday at {church.name}!"
    db.session.refresh(broadcast)
    assert broadcast.status == "sent" and broadcast.sent_count == 5
    progress = broadcast_progress(broadcast)
    assert progress["queued"] == 0 and progress["sent"] == 5 and not progress["done"]


def test_a_batch_claims_only_what_its_threads_can_send_now(db, app, church, sim, send_to, monkeypatch):
    """A worker killed mid-batch must strand a handful of claims, not the whole batch."""
    broadcast = send_to(AudienceSpec(everyone=True))
    monkeypatch.setitem(app.config, "SEND_CONCURRENCY", 2)
    window = sending.IN_FLIGHT_PER_THREAD * 2
    real_claim = tasks.claim
    asked, unsent = [], []  # per claim: rows asked for; rows claimed so far the provider has not seen
    claimed = []

    def watched_claim(broadcast_id, limit=BATCH_SIZE):
        asked.append(limit)
        unsent.append(len(claimed) - sum(sim.stats()["attempts_by_to"].values()))
        rows = real_claim(broadcast_id, limit)
        claimed.extend(rows)
        return rows

    monkeypatch.setattr(tasks, "claim", watched_claim)
    tasks.send_batch(broadcast.id)
    assert broadcast.recipient_count > 10 * window
    assert {r.status for r in recipients(db, broadcast)} == {"sent"}
    assert max(asked) <= window and max(unsent) <= window
    assert sim.stats()["duplicates"] == {}


def test_rate_limited_send_waits_for_reset_then_goes(db, sim, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    target = recipients(db, broadcast)[0].to_e164
    sim.add_fault(target, "rate_limit", times=1, reset=0.2)
    tasks.send_batch(broadcast.id)
    assert {r.status for r in recipients(db, broadcast)} == {"sent"}
    stats = sim.stats()
    assert stats["attempts_by_to"][target] == 2 and not stats["duplicates"]


def test_server_errors_are_retried_then_succeed(db, sim, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    target = recipients(db, broadcast)[0].to_e164
    sim.add_fault(target, "server_error", times=2)
    tasks.send_batch(broadcast.id)
    assert {r.status for r in recipients(db, broadcast)} == {"sent"}
    assert sim.stats()["attempts_by_to"][target] == 3


def test_three_server_errors_dead_letter_and_replay_sends_only_unsent(db, sim, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    target = recipients(db, broadcast)[0]
    sim.add_fault(target.to_e164, "server_error", times=3)
    tasks.send_batch(broadcast.id)
    db.session.refresh(target)
    assert target.status == "failed" and target.error_code == "10007"
    letter = db.session.scalar(select(DeadLetter).where(DeadLetter.kind == "broadcast_recipients"))
    assert letter.payload["recipient_ids"] == [target.id]
    assert "re-queued" in replay_dead_letter(letter)
    tasks.send_batch(broadcast.id)
    rows = recipients(db, broadcast)
    assert {r.status for r in rows} == {"sent"}
    stats = sim.stats()
    assert sum(stats["by_to"].values()) == 5 and not stats["duplicates"]
    db.session.refresh(broadcast)
    assert broadcast.failed_count == 0 and broadcast.sent_count == 5


def test_timeout_is_unknown_and_never_resent(db, sim, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    target = recipients(db, broadcast)[0]
    sim.add_fault(target.to_e164, "timeout")
    tasks.send_batch(broadcast.id)
    db.session.refresh(target)
    assert target.status == "unknown"
    tasks.send_batch(broadcast.id)
    assert sim.stats()["attempts_by_to"][target.to_e164] == 1
    db.session.refresh(broadcast)
    assert broadcast.unknown_count == 1 and broadcast.status == "sent"


def test_connection_refused_retries_three_times_then_dead_letter(db, app, sim, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    app.config["TELNYX_API_BASE"] = "http://127.0.0.1:9/v2"  # nothing listens on the discard port
    summary = tasks.send_batch(broadcast.id, limit=1)
    row = recipients(db, broadcast)[0]
    assert row.status == "failed" and row.error_code == "connect", summary
    assert db.session.scalar(select(DeadLetter.payload).where(DeadLetter.kind == "broadcast_recipients"))


def test_provider_stop_block_opts_the_member_out(db, sim, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    target = recipients(db, broadcast)[0]
    sim.add_fault(target.to_e164, "opted_out")
    tasks.send_batch(broadcast.id)
    db.session.refresh(target)
    assert target.status == "failed" and target.error_code == "40300"
    member = db.session.get(Member, target.member_id)
    db.session.refresh(member)
    assert member.opted_out_at is not None
    event = db.session.scalar(select(ConsentEvent).where(ConsentEvent.member_id == member.id))
    assert (event.action, event.source, event.keyword) == ("opt_out", "provider_block", None)
    assert sim.stats()["attempts_by_to"][target.to_e164] == 1
    assert not db.session.scalar(select(DeadLetter.id).where(DeadLetter.kind == "broadcast_recipients"))


def test_circuit_opens_after_five_failures_and_pauses_the_batch(db, sim, church, send_to):
    broadcast = send_to(AudienceSpec(everyone=True))
    sim.add_fault("*", "server_error")
    tasks.send_batch(broadcast.id)
    assert circuit_breaker().state()["state"] == "open"
    rows = recipients(db, broadcast)
    statuses = [r.status for r in rows]
    # Paused, not burnt: most rows wait in the queue for a later job.
    assert statuses.count("queued") > len(rows) - 20
    assert sim.stats()["rejected"] < 30
    assert ScheduledJobRegistry(queue=rds.queue("default")).count >= 1
    # While open, a new job sends nothing.
    before = sim.stats()["rejected"]
    assert tasks.send_batch(broadcast.id) == "circuit open"
    assert sim.stats()["rejected"] == before


def test_member_opted_out_after_creation_is_skipped(db, sim, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    target = recipients(db, broadcast)[0]
    member = db.session.get(Member, target.member_id)
    member.opted_out_at = func.now()
    db.session.flush()
    tasks.send_batch(broadcast.id)
    db.session.refresh(target)
    assert target.status == "skipped"
    assert target.to_e164 not in sim.stats()["by_to"]


def test_quiet_hours_hold_the_batch_until_morning(db, sim, church, small_group, send_to):
    from datetime import time

    church.quiet_hours_start, church.quiet_hours_end = time(0, 0), time(23, 59)
    db.session.flush()
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    assert tasks.send_batch(broadcast.id).startswith("quiet hours")
    assert {r.status for r in recipients(db, broadcast)} == {"queued"}
    assert ScheduledJobRegistry(queue=rds.queue("default")).count == 1
    assert sim.stats()["accepted"] == 0


def test_cancel_skips_everything_not_claimed(db, sim, small_group, send_to):
    broadcast = send_to(AudienceSpec(group_ids=[small_group.id]))
    assert cancel_broadcast(broadcast) == 5
    assert tasks.send_batch(broadcast.id) == "broadcast is cancelled"
    assert broadcast_progress(broadcast)["skipped"] == 5 and broadcast_progress(broadcast)["done"]
