"""The automation engine: triggers, exits, quiet hours, allowance, consent at send time, tenancy."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from app.automations.engine import run_due
from app.automations.services import StepInput, set_paused
from app.inbox.inbound import handle_received
from app.inbox.tasks import send_message
from app.models import ConversationMessage, GroupMember, Keyword, WorkflowEnrollment, WorkflowStepRun
from tests.integration.automations.conftest import (
    enrollment_of,
    make_workflow,
    new_member,
    reply,
    text_step,
    texts_to,
    until,
    wait,
)
from tests.integration.inbox.conftest import telnyx_payload

PHONE = "+13125550191"


def _join(db, church, group, member):
    db.session.execute(
        text("INSERT INTO group_members (church_id, group_id, member_id) VALUES (:c, :g, :m)"),
        {"c": church.id, "g": group.id, "m": member.id},
    )
    db.session.commit()


def _series(db, owner, group, **fields):
    return make_workflow(
        db,
        owner,
        [text_step("One, {first_name}"), wait(days=1), text_step("Two"), wait(days=1), text_step("Three")],
        trigger_group_id=group.id,
        **fields,
    )


def test_joining_a_group_enrolls_once_and_only_people_who_joined_after(db, grace, owner, groups, simulator, clock):
    earlier = new_member(db, grace, "+13125550190")
    _join(db, grace, groups[0], earlier)  # before the workflow existed
    db.session.execute(text("UPDATE group_members SET created_at = now() - interval '1 hour'"))
    workflow = _series(db, owner, groups[0])
    member = new_member(db, grace, PHONE)
    _join(db, grace, groups[0], member)
    clock.run(seconds=1)
    clock.run(seconds=1)
    assert texts_to(simulator, PHONE) == ["One, Lydia"]
    assert enrollment_of(db, workflow, earlier) is None
    count = db.session.scalar(select(func.count()).where(WorkflowEnrollment.workflow_id == workflow.id))
    assert count == 1


def test_a_reply_ends_the_series(db, grace, owner, groups, simulator, clock):
    workflow = _series(db, owner, groups[0])
    member = new_member(db, grace, PHONE)
    _join(db, grace, groups[0], member)
    clock.run(seconds=1)
    reply(db, PHONE, "Thanks! See you Sunday")
    clock.run(days=1, minutes=1)
    assert texts_to(simulator, PHONE) == ["One, Lydia"]
    enrollment = enrollment_of(db, workflow, member)
    assert (enrollment.status, enrollment.exit_reason) == ("exited", "replied")


def test_without_the_reply_exit_a_reply_changes_nothing(db, grace, owner, groups, simulator, clock):
    _series(db, owner, groups[0], exit_on_reply=False)
    member = new_member(db, grace, PHONE)
    _join(db, grace, groups[0], member)
    clock.run(seconds=1)
    reply(db, PHONE, "Thanks!")
    clock.run(days=1, minutes=1)
    assert texts_to(simulator, PHONE) == ["One, Lydia", "Two"]


def test_stop_ends_the_series_and_nothing_more_is_sent(db, grace, owner, groups, simulator, clock):
    workflow = _series(db, owner, groups[0], exit_on_reply=False)
    member = new_member(db, grace, PHONE)
    _join(db, grace, groups[0], member)
    clock.run(seconds=1)
    reply(db, PHONE, "STOP")
    clock.run(days=3)
    assert texts_to(simulator, PHONE)[0] == "One, Lydia"
    assert not any(t in ("Two", "Three") for t in texts_to(simulator, PHONE))
    assert enrollment_of(db, workflow, member).exit_reason == "opted_out"


def test_leaving_the_group_ends_the_series(db, grace, owner, groups, simulator, clock):
    workflow = _series(db, owner, groups[0], exit_group_id=groups[0].id)
    member = new_member(db, grace, PHONE)
    _join(db, grace, groups[0], member)
    clock.run(seconds=1)
    db.session.execute(text("DELETE FROM group_members WHERE member_id = :m"), {"m": member.id})
    db.session.commit()
    clock.run(days=1, minutes=1)
    assert texts_to(simulator, PHONE) == ["One, Lydia"]
    assert enrollment_of(db, workflow, member).exit_reason == "left_group"


def test_an_opt_out_after_the_text_was_queued_stops_it_at_send_time(db, grace, owner, groups, simulator, clock):
    _series(db, owner, groups[0])
    member = new_member(db, grace, PHONE)
    _join(db, grace, groups[0], member)
    run_due(clock.now)  # the text is queued, not yet sent
    db.session.execute(text("UPDATE members SET opted_out_at = now() WHERE id = :m"), {"m": member.id})
    db.session.commit()
    message = db.session.scalar(select(ConversationMessage).where(ConversationMessage.automated))
    assert send_message(message.id) == "failed"
    assert texts_to(simulator, PHONE) == []
    db.session.refresh(message)
    assert (message.status, message.error_code) == ("failed", "opted_out")


def test_nobody_opted_out_is_enrolled(db, grace, owner, groups, simulator, clock):
    workflow = _series(db, owner, groups[0])
    member = new_member(db, grace, PHONE, opted_out=True)
    _join(db, grace, groups[0], member)
    clock.run(seconds=1)
    assert enrollment_of(db, workflow, member) is None and texts_to(simulator, PHONE) == []


def test_quiet_hours_hold_a_text_until_morning(db, grace, owner, groups, simulator, clock):
    zone = ZoneInfo(grace.timezone)
    local = clock.now.astimezone(zone)
    grace.quiet_hours_start = (local - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    grace.quiet_hours_end = (local + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    db.session.commit()
    workflow = _series(db, owner, groups[0])
    member = new_member(db, grace, PHONE)
    _join(db, grace, groups[0], member)
    clock.run(seconds=1)
    enrollment = enrollment_of(db, workflow, member)
    assert texts_to(simulator, PHONE) == []
    assert (enrollment.position, enrollment.hold_reason) == (0, "quiet_hours")
    assert enrollment.due_at.astimezone(zone).time() == grace.quiet_hours_end
    clock.run(hours=2, minutes=1)
    assert texts_to(simulator, PHONE) == ["One, Lydia"]


def test_an_exhausted_allowance_holds_texts(db, grace, owner, groups, simulator, clock):
    grace.sms_quota = 0
    db.session.commit()
    workflow = _series(db, owner, groups[0])
    member = new_member(db, grace, PHONE)
    _join(db, grace, groups[0], member)
    clock.run(seconds=1)
    enrollment = enrollment_of(db, workflow, member)
    assert texts_to(simulator, PHONE) == [] and enrollment.hold_reason == "allowance"
    grace.sms_quota = None
    db.session.commit()
    clock.run(hours=1, minutes=1)
    assert texts_to(simulator, PHONE) == ["One, Lydia"]


def test_wait_until_a_time_of_day_in_the_churchs_zone(db, grace, owner, groups, simulator, clock):
    workflow = make_workflow(db, owner, [until(time(9, 30)), text_step("Morning!")], trigger_group_id=groups[0].id)
    member = new_member(db, grace, PHONE)
    _join(db, grace, groups[0], member)
    clock.run(seconds=1)
    due = enrollment_of(db, workflow, member).due_at.astimezone(ZoneInfo(grace.timezone))
    assert (due.hour, due.minute) == (9, 30) and due > clock.now
    assert due - clock.now <= timedelta(days=1)
    clock.now = due - timedelta(seconds=1)
    clock.run(seconds=2)
    assert texts_to(simulator, PHONE) == ["Morning!"]


def test_a_join_keyword_enrolls_and_its_workflow_can_assign_and_notify(db, grace, owner, groups, simulator, clock):
    keyword = Keyword(church_id=grace.id, word="WELCOME", group_id=groups[0].id)
    db.session.add(keyword)
    db.session.commit()
    workflow = make_workflow(
        db,
        owner,
        [StepInput("assign", user_id=owner.id), StepInput("notify", body="Call {first_name}", user_id=owner.id)],
        trigger="keyword",
        trigger_keyword_id=keyword.id,
        exit_on_reply=False,
    )
    reply(db, PHONE, "welcome")
    clock.run(seconds=1)
    enrollments = db.session.scalars(select(WorkflowEnrollment).where(WorkflowEnrollment.workflow_id == workflow.id))
    [enrollment] = enrollments.all()
    assert enrollment.status == "completed"
    assignee = db.session.execute(
        text("SELECT assignee_id FROM conversations WHERE member_id = :m"), {"m": enrollment.member_id}
    ).scalar()
    assert assignee == owner.id


def test_a_first_text_enrolls_a_new_contact_but_not_a_regular(db, grace, owner, simulator, clock):
    workflow = make_workflow(
        db, owner, [text_step("Thanks for texting {church_name}!")], trigger="first_text", exit_on_reply=False
    )
    regular = new_member(db, grace, "+13125550192")
    reply(db, "+13125550192", "Hello")  # first text: enrolled
    reply(db, PHONE, "Hi there")
    clock.run(seconds=1)
    reply(db, "+13125550192", "Again")
    clock.run(seconds=1)
    assert texts_to(simulator, PHONE) == [f"Thanks for texting {grace.name}!"]
    assert len(texts_to(simulator, "+13125550192")) == 1
    assert enrollment_of(db, workflow, regular).status == "completed"


def test_a_paused_workflow_enrolls_nobody_and_moves_nobody(db, grace, owner, groups, simulator, clock):
    workflow = _series(db, owner, groups[0])
    member = new_member(db, grace, PHONE)
    _join(db, grace, groups[0], member)
    clock.run(seconds=1)
    set_paused(owner, workflow, True)
    db.session.commit()
    clock.run(days=2)
    assert texts_to(simulator, PHONE) == ["One, Lydia"]
    set_paused(owner, workflow, False)
    db.session.commit()
    clock.run(seconds=1)
    assert texts_to(simulator, PHONE) == ["One, Lydia", "Two"]


def test_one_church_workflow_never_touches_another_churchs_people(
    db, grace, other_church, owner, groups, simulator, clock
):
    workflow = make_workflow(db, owner, [text_step("Hi")], trigger="first_text", exit_on_reply=False)
    handle_received(telnyx_payload(PHONE, to="+13125550200", text="Hello Hope"))
    db.session.commit()
    clock.run(seconds=1)
    assert db.session.scalar(select(func.count()).where(WorkflowEnrollment.workflow_id == workflow.id)) == 0
    assert db.session.scalar(select(func.count()).select_from(WorkflowStepRun)) == 0
    assert texts_to(simulator, PHONE) == []
    assert not db.session.scalar(
        select(func.count()).where(GroupMember.church_id == other_church.id, GroupMember.group_id == groups[0].id)
    )
