"""The periodic tick turns each due occurrence into exactly one broadcast."""

from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from app.auth.services import find_user_by_email
from app.broadcasts.audience import AudienceSpec
from app.broadcasts.schedules import Recurrence, create_schedule, run_due_schedules, run_schedule
from app.models import Broadcast, BroadcastRecipient, Schedule


def _schedule(church, youth):
    owner = find_user_by_email("admin@example.org")
    rec = Recurrence("weekly", datetime(2026, 1, 4, 9, 0), date.today() + timedelta(days=90), ("SU", "WE"))
    return create_schedule(
        church,
        owner,
        body="Grace: youth tonight!",
        media_urls=[],
        audience=AudienceSpec(group_ids=[youth.id]).to_dict(),
        rec=rec,
    )


def _broadcasts(db, schedule_id):
    return db.session.scalar(select(func.count()).select_from(Broadcast).where(Broadcast.schedule_id == schedule_id))


def test_tick_creates_one_broadcast_per_occurrence_even_when_called_twice(db, church, youth):
    schedule = _schedule(church, youth)
    occurrence = schedule.next_run_at
    now = occurrence + timedelta(minutes=1)
    assert run_due_schedules(now=now) == 1
    assert run_due_schedules(now=now) == 0
    assert _broadcasts(db, schedule.id) == 1
    db.session.refresh(schedule)
    assert schedule.next_run_at > occurrence and schedule.last_run_at == now
    b = db.session.scalar(select(Broadcast).where(Broadcast.schedule_id == schedule.id))
    assert b.occurrence_at == occurrence
    recipients = select(func.count()).select_from(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == b.id)
    assert db.session.scalar(recipients) > 0


def test_two_ticks_racing_for_one_occurrence_make_one_broadcast(db, church, youth):
    schedule = _schedule(church, youth)
    occurrence = schedule.next_run_at
    now = occurrence + timedelta(seconds=5)
    # Both workers read the same due occurrence before either advanced the schedule.
    assert run_schedule(schedule.id, occurrence, now) is True
    run_schedule(schedule.id, occurrence, now)
    assert _broadcasts(db, schedule.id) == 1


def test_next_occurrence_runs_later(db, church, youth):
    schedule = _schedule(church, youth)
    first = schedule.next_run_at
    run_due_schedules(now=first + timedelta(seconds=1))
    db.session.refresh(schedule)
    second = schedule.next_run_at
    run_due_schedules(now=second + timedelta(seconds=1))
    assert _broadcasts(db, schedule.id) == 2
    occurrences = db.session.scalars(select(Broadcast.occurrence_at).where(Broadcast.schedule_id == schedule.id))
    assert sorted(occurrences) == [first, second]


def test_missed_and_paused_occurrences_are_not_sent(db, church, youth):
    schedule = _schedule(church, youth)
    occurrence = schedule.next_run_at
    run_due_schedules(now=occurrence + timedelta(days=2))  # workers were down
    db.session.refresh(schedule)
    assert _broadcasts(db, schedule.id) == 0 and "Skipped" in schedule.last_error
    assert schedule.next_run_at > occurrence + timedelta(days=2)
    schedule.enabled = False
    db.session.commit()
    assert run_due_schedules(now=schedule.next_run_at + timedelta(seconds=1)) == 0


def test_refused_occurrence_records_why_and_moves_on(db, church, youth):
    schedule = _schedule(church, youth)
    church.sms_quota = 1
    db.session.commit()  # the tick starts by ending its read transaction
    run_due_schedules(now=schedule.next_run_at + timedelta(seconds=1))
    schedule = db.session.get(Schedule, schedule.id)
    assert _broadcasts(db, schedule.id) == 0 and "segments" in schedule.last_error and schedule.enabled


def test_schedule_tick_is_registered_as_periodic():
    from app.periodic import PERIODIC

    assert any(p.func == "app.broadcasts.schedules.run_due_schedules" and p.every == 30 for p in PERIODIC)
