"""The scheduler's side of automations: claim due enrollments and run their steps, each once.

A pass locks due enrollments with FOR UPDATE SKIP LOCKED, so two workers never hold the same
person; for each, the step's action, its step-run row (unique on enrollment and position) and the
advanced position commit in one transaction. A text's outbox is the conversation message that
the inbox's send job delivers once this transaction commits (app.inbox.services.queue_outbound),
so "the step ran" and "the text is queued" are one fact: never one without the other.

Texts wait for the end of quiet hours and for plan allowance; the member's consent is read in
SQL under a share lock at that moment, and again by the send job just before the provider call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert

from app import cache, merge
from app.automations.enrollment import enroll_new
from app.billing import allowance
from app.broadcasts.quiet_hours import quiet_until
from app.delivery.segments import analyze
from app.extensions import db
from app.inbox.inbound import find_or_open_conversation
from app.inbox.services import queue_outbound
from app.models import (
    Church,
    GroupMember,
    Member,
    PhoneNumber,
    User,
    Workflow,
    WorkflowEnrollment,
    WorkflowStep,
    WorkflowStepRun,
)
from app.notifications.staff_notice import notify_staff

log = logging.getLogger(__name__)

BATCH = 100
ALLOWANCE_RETRY = timedelta(hours=1)
ERROR_RETRY = timedelta(minutes=30)

CLAIM_SQL = text(
    """
    SELECT e.id FROM workflow_enrollments e
    JOIN workflows w ON w.id = e.workflow_id
    WHERE e.status = 'active' AND w.status = 'active' AND e.due_at <= :now
    ORDER BY e.due_at, e.id
    LIMIT :limit
    FOR UPDATE OF e SKIP LOCKED
    """
)

EXIT_SQL = text(
    """
    SELECT CASE
      WHEN m.opted_out_at IS NOT NULL THEN 'opted_out'
      WHEN w.exit_on_reply AND EXISTS (
        SELECT 1 FROM conversation_messages cm JOIN conversations c ON c.id = cm.conversation_id
        WHERE c.member_id = e.member_id AND cm.direction = 'in' AND cm.created_at > e.enrolled_at
      ) THEN 'replied'
      WHEN w.exit_group_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM group_members gm WHERE gm.group_id = w.exit_group_id AND gm.member_id = e.member_id
      ) THEN 'left_group'
    END
    FROM workflow_enrollments e
    JOIN workflows w ON w.id = e.workflow_id
    JOIN members m ON m.id = e.member_id
    WHERE e.id = :id
    """
)


@dataclass(frozen=True)
class Outcome:
    """What a step did: go on to the next (`outcome` logged), wait until `due`, hold, or exit."""

    kind: str  # next, wait, hold, exit
    outcome: str | None = None
    due: datetime | None = None
    reason: str | None = None
    message_id: int | None = None


def run_due(now: datetime, batch: int = BATCH) -> int:
    """One scheduler pass at `now`: enroll new people, then run every due step; returns enrollments handled."""
    enroll_new(now)
    db.session.commit()
    handled = 0
    while True:
        ids = db.session.scalars(CLAIM_SQL, {"now": now, "limit": batch}).all()
        for enrollment_id in ids:
            advance(enrollment_id, now)
        db.session.commit()
        handled += len(ids)
        if len(ids) < batch:
            return handled


def advance(enrollment_id: int, now: datetime) -> None:
    """Run one claimed enrollment's due steps, up to its next wait (in a savepoint of the pass)."""
    try:
        with db.session.begin_nested():
            _advance(enrollment_id, now)
    except Exception:
        log.exception("automation step failed", extra={"enrollment_id": enrollment_id})
        # Tried again later; the failed step left nothing behind (its savepoint rolled back).
        db.session.execute(
            text("UPDATE workflow_enrollments SET due_at = :due, hold_reason = 'error' WHERE id = :id"),
            {"id": enrollment_id, "due": now + ERROR_RETRY},
        )


def _advance(enrollment_id: int, now: datetime) -> None:
    enrollment = db.session.get(WorkflowEnrollment, enrollment_id)
    reason = db.session.scalar(EXIT_SQL, {"id": enrollment_id})
    if reason:
        _finish(enrollment, now, "exited", reason)
        return
    steps = steps_of(enrollment.workflow_id)
    church = db.session.get(Church, enrollment.church_id)
    enrollment.hold_reason = None
    while enrollment.position < len(steps):
        step = steps[enrollment.position]
        result = run_step(step, enrollment, church, now)
        if result.kind == "exit":
            _finish(enrollment, now, "exited", result.reason)
            return
        if result.kind == "hold":
            enrollment.due_at, enrollment.hold_reason = result.due, result.reason
            return
        db.session.add(
            WorkflowStepRun(
                church_id=enrollment.church_id,
                workflow_id=enrollment.workflow_id,
                enrollment_id=enrollment.id,
                position=enrollment.position,
                kind=step.kind,
                outcome=result.outcome,
                message_id=result.message_id,
                ran_at=now,
            )
        )
        enrollment.position += 1
        if result.kind == "wait":
            enrollment.due_at = result.due
            db.session.flush()
            return
    _finish(enrollment, now, "completed", None)


def _finish(enrollment: WorkflowEnrollment, now: datetime, status: str, reason: str | None) -> None:
    enrollment.status, enrollment.exit_reason, enrollment.finished_at = status, reason, now
    enrollment.hold_reason = None
    db.session.flush()


def steps_of(workflow_id: int) -> list[WorkflowStep]:
    """A workflow's steps in order."""
    return list(
        db.session.scalars(
            select(WorkflowStep).where(WorkflowStep.workflow_id == workflow_id).order_by(WorkflowStep.position)
        )
    )


def run_step(step: WorkflowStep, enrollment: WorkflowEnrollment, church: Church, now: datetime) -> Outcome:
    """Do one step for one enrolled member."""
    if step.kind == "wait":
        return Outcome("wait", "done", due=now + timedelta(minutes=step.wait_minutes or 0))
    if step.kind == "wait_until":
        return Outcome("wait", "done", due=next_time_of_day(church, step, now))
    if step.kind == "text":
        return _text(step, enrollment, church, now)
    if step.kind in ("add_group", "remove_group"):
        return _group(step, enrollment)
    if step.kind == "assign":
        return _assign(step, enrollment, church)
    if step.kind == "notify":
        return _notify(step, enrollment, church)
    raise ValueError(f"unknown step kind {step.kind!r}")


def next_time_of_day(church: Church, step: WorkflowStep, now: datetime) -> datetime:
    """The next time the church's clock shows the step's time of day (today's when still ahead)."""
    zone = ZoneInfo(church.timezone or "UTC")
    local = now.astimezone(zone)
    at = datetime.combine(local.date(), step.at_time, tzinfo=zone)
    if at <= now:
        at = datetime.combine(local.date() + timedelta(days=1), step.at_time, tzinfo=zone)
    return at


def _consenting_member(member_id: int) -> Member | None:
    """The member when they may be texted now, read in SQL under a share lock (a STOP waits for us)."""
    opted_out = db.session.execute(
        text("SELECT opted_out_at IS NOT NULL FROM members WHERE id = :id FOR SHARE"), {"id": member_id}
    ).scalar()
    if opted_out is None or opted_out:
        return None
    member = db.session.get(Member, member_id)
    db.session.refresh(member)
    return member


def _default_number(church_id: int) -> PhoneNumber | None:
    return db.session.scalar(
        select(PhoneNumber)
        .where(PhoneNumber.church_id == church_id)
        .order_by(PhoneNumber.is_default.desc(), PhoneNumber.id)
        .limit(1)
    )


def _text(step: WorkflowStep, enrollment: WorkflowEnrollment, church: Church, now: datetime) -> Outcome:
    until = quiet_until(church, now)
    if until is not None:
        return Outcome("hold", due=until, reason="quiet_hours")
    number = _default_number(church.id)
    if number is None:
        return Outcome("next", "skipped")
    # The conversation is locked before the member, in the order the inbound path takes them.
    conversation = find_or_open_conversation(church.id, enrollment.member_id, number)
    member = _consenting_member(enrollment.member_id)
    if member is None:
        return Outcome("exit", reason="opted_out")
    body = merge.render(step.body or "", member, church).strip()
    if not body or not member.phone_e164:
        return Outcome("next", "skipped")
    blocked = allowance.sending_blocked_reason(church, now)
    if blocked or not allowance.check(church, analyze(body).segments).ok:
        return Outcome("hold", due=now + ALLOWANCE_RETRY, reason="allowance")
    message = queue_outbound(conversation, member, body, from_e164=number.e164, author_id=None, automated=True)
    return Outcome("next", "sent", message_id=message.id)


def _group(step: WorkflowStep, enrollment: WorkflowEnrollment) -> Outcome:
    if step.group_id is None:  # the group was deleted since the step was written
        return Outcome("next", "skipped")
    if step.kind == "add_group":
        db.session.execute(
            insert(GroupMember)
            .values(church_id=enrollment.church_id, group_id=step.group_id, member_id=enrollment.member_id)
            .on_conflict_do_nothing()
        )
    else:
        db.session.execute(
            delete(GroupMember).where(
                GroupMember.group_id == step.group_id, GroupMember.member_id == enrollment.member_id
            )
        )
    # Memberships are written set-based: the cache registry does not see them.
    cache.bump(("groups", enrollment.church_id), ("members", enrollment.church_id))
    return Outcome("next", "done")


def _staff(step: WorkflowStep, church_id: int) -> User | None:
    user = db.session.get(User, step.user_id) if step.user_id else None
    return user if user is not None and user.church_id == church_id and user.active else None


def _assign(step: WorkflowStep, enrollment: WorkflowEnrollment, church: Church) -> Outcome:
    user, number = _staff(step, church.id), _default_number(church.id)
    if user is None or number is None:
        return Outcome("next", "skipped")
    conversation = find_or_open_conversation(church.id, enrollment.member_id, number)
    conversation.assignee_id = user.id
    return Outcome("next", "done")


def _notify(step: WorkflowStep, enrollment: WorkflowEnrollment, church: Church) -> Outcome:
    user = _staff(step, church.id)
    if user is None:
        return Outcome("next", "skipped")
    member = db.session.get(Member, enrollment.member_id)
    workflow = db.session.get(Workflow, enrollment.workflow_id)
    notify_staff(user, member, note=merge.render(step.body or "", member, church), about=workflow.name)
    return Outcome("next", "done")
