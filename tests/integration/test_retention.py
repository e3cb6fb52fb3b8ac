"""Retention of per-message detail (app/retention.py): what is deleted, what stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from app import retention, stats
from app.models import Broadcast, BroadcastRecipient, Conversation, ConversationMessage, Member


@pytest.fixture
def settings(app):
    saved = {
        k: app.config.get(k) for k in ("BROADCAST_RECIPIENTS_RETENTION_DAYS", "CONVERSATION_MESSAGES_RETENTION_DAYS")
    }
    yield app.config
    app.config.update(saved)


def _broadcast(db, church, *, finished_days_ago: int | None, recipients: int = 3) -> Broadcast:
    members = db.session.scalars(select(Member).where(Member.church_id == church.id).limit(recipients)).all()
    done = None if finished_days_ago is None else datetime.now(UTC) - timedelta(days=finished_days_ago)
    broadcast = Broadcast(
        church_id=church.id,
        body="Old news",
        status="sent" if done else "sending",
        completed_at=done,
        recipient_count=len(members),
        sent_count=len(members),
        delivered_count=len(members),
    )
    db.session.add(broadcast)
    db.session.flush()
    db.session.add_all(
        BroadcastRecipient(
            church_id=church.id, broadcast_id=broadcast.id, member_id=m.id, to_e164=m.phone_e164, status="delivered"
        )
        for m in members
    )
    db.session.flush()
    return broadcast


def _recipients(db, broadcast) -> int:
    return db.session.scalar(
        select(func.count()).select_from(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast.id)
    )


def test_recipients_of_old_finished_broadcasts_go_and_their_counts_stay(client, login_as, db, church, settings):
    settings["BROADCAST_RECIPIENTS_RETENTION_DAYS"] = 30
    old = _broadcast(db, church, finished_days_ago=45)
    recent = _broadcast(db, church, finished_days_ago=10)
    running = _broadcast(db, church, finished_days_ago=None)
    db.session.commit()
    assert retention.prune_broadcast_recipients() >= 3
    db.session.expire_all()
    assert _recipients(db, old) == 0 and old.recipients_pruned_at is not None
    assert _recipients(db, recent) == 3 and recent.recipients_pruned_at is None
    assert _recipients(db, running) == 3 and running.recipients_pruned_at is None
    assert (old.recipient_count, old.delivered_count) == (3, 3)
    login_as("owner")
    page = client.get(f"/broadcasts/{old.id}").get_data(as_text=True)
    assert 'id="recipients-pruned"' in page and "kept for 30 days" in page
    assert retention.prune_broadcast_recipients() == 0  # nothing left to do: idempotent


def test_a_run_out_of_time_finishes_next_run(db, church, settings, monkeypatch):
    settings["BROADCAST_RECIPIENTS_RETENTION_DAYS"] = 30
    old = _broadcast(db, church, finished_days_ago=45, recipients=5)
    db.session.commit()
    monkeypatch.setattr(retention, "BATCH", 2)
    assert retention.prune_broadcast_recipients(budget=0) == 0  # no time at all: nothing half-marked
    assert old.recipients_pruned_at is None
    assert retention.prune_broadcast_recipients() >= 5  # the demo's old broadcasts go too
    db.session.expire_all()
    assert _recipients(db, old) == 0 and old.recipients_pruned_at is not None


def test_inbox_messages_are_kept_unless_the_operator_sets_a_window(db, church, settings):
    conversation = db.session.scalar(select(Conversation).where(Conversation.church_id == church.id).limit(1))
    old = ConversationMessage(
        church_id=church.id,
        conversation_id=conversation.id,
        direction="in",
        body="From long ago",
        status="received",
        created_at=datetime.now(UTC) - timedelta(days=100),
    )
    db.session.add(old)
    db.session.commit()
    old_id = old.id
    assert settings["CONVERSATION_MESSAGES_RETENTION_DAYS"] == 0  # the default keeps everything
    assert retention.prune_conversation_messages() == 0
    settings["CONVERSATION_MESSAGES_RETENTION_DAYS"] = 90
    assert retention.prune_conversation_messages() >= 1
    gone = select(func.count()).select_from(ConversationMessage).where(ConversationMessage.id == old_id)
    assert db.session.scalar(gone) == 0
    assert db.session.get(Conversation, conversation.id) is not None  # the thread itself stays


def test_rebuild_leaves_days_past_retention_as_they_were_counted(db, church, settings):
    settings["BROADCAST_RECIPIENTS_RETENTION_DAYS"] = 30
    settings["CONVERSATION_MESSAGES_RETENTION_DAYS"] = 0
    long_ago = datetime.now(UTC).date() - timedelta(days=200)
    stats.bump(church.id, long_ago, sent=7, delivered=7)
    db.session.commit()
    stats.rebuild(church.id)
    kept = db.session.execute(
        text("SELECT sent, delivered FROM daily_stats WHERE church_id = :c AND day = :d"),
        {"c": church.id, "d": long_ago},
    ).one()
    assert tuple(kept) == (7, 7)  # its detail may be gone: a rebuild must not zero it
    assert retention.rebuild_floor() == datetime.now(UTC).date() - timedelta(days=29)
