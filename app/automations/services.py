"""Saving workflows (owners and admins, audited) and what the workflow page reports.

Services take plain values: `WorkflowInput` is what the form parsed; `problems` checks it
against the church's own groups, keywords and staff and answers errors keyed by form field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

from sqlalchemy import delete, func, select

from app import audit, merge
from app.auth.decorators import ADMINS
from app.errors import PermissionDenied, ValidationError
from app.extensions import db
from app.inbox.services import MAX_BODY
from app.models import (
    ConversationMessage,
    Group,
    Keyword,
    User,
    Workflow,
    WorkflowEnrollment,
    WorkflowStep,
    WorkflowStepRun,
)
from app.models.automations import STEP_KINDS, TRIGGERS

MAX_STEPS = 20
MAX_WAIT_MINUTES = 365 * 24 * 60
NAME_MAX = 120

TRIGGER_LABELS = {
    "connect_card": "A connect card is confirmed (they reply YES)",
    "group_joined": "Someone joins a group",
    "keyword": "Someone texts a join keyword",
    "first_text": "Someone texts the church for the first time",
}
STEP_LABELS = {
    "wait": "Wait",
    "wait_until": "Wait until a time of day",
    "text": "Send a text",
    "add_group": "Add to a group",
    "remove_group": "Remove from a group",
    "assign": "Assign the conversation",
    "notify": "Notify a staff member",
}
EXIT_LABELS = {"opted_out": "Opted out", "replied": "Replied", "left_group": "Left the group"}
UNITS = {"minutes": 1, "hours": 60, "days": 24 * 60}


def wait_label(minutes: int | None) -> str:
    """A wait as people say it: "2 days", "3 hours", "90 minutes"."""
    minutes = minutes or 0
    for name, size in (("day", UNITS["days"]), ("hour", UNITS["hours"])):
        if minutes and minutes % size == 0:
            count = minutes // size
            return f"{count} {name}{'s' if count != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@dataclass
class StepInput:
    kind: str
    wait_amount: int | None = None
    wait_unit: str = "days"
    at_time: time | None = None
    body: str = ""
    group_id: int | None = None
    user_id: int | None = None

    @property
    def wait_minutes(self) -> int | None:
        if self.wait_amount is None:
            return None
        return self.wait_amount * UNITS.get(self.wait_unit, 0)


@dataclass
class WorkflowInput:
    name: str
    trigger: str
    trigger_group_id: int | None = None
    trigger_keyword_id: int | None = None
    exit_on_reply: bool = True
    exit_group_id: int | None = None
    steps: list[StepInput] = field(default_factory=list)


def _own(model, church_id: int, obj_id: int | None) -> bool:
    return obj_id is not None and db.session.scalar(
        select(func.count()).where(model.id == obj_id, model.church_id == church_id)
    )


def _own_staff(church_id: int, user_id: int | None) -> bool:
    return user_id is not None and bool(
        db.session.scalar(select(func.count()).where(User.id == user_id, User.church_id == church_id, User.active))
    )


def problems(church_id: int, data: WorkflowInput) -> dict[str, str]:
    """What is wrong with the input, by form field name (empty when it can be saved)."""
    errors: dict[str, str] = {}
    if not data.name.strip():
        errors["name"] = "Give the automation a name."
    elif len(data.name.strip()) > NAME_MAX:
        errors["name"] = f"Keep the name under {NAME_MAX} characters."
    if data.trigger not in TRIGGERS:
        errors["trigger"] = "Choose what starts the automation."
    elif data.trigger == "group_joined" and not _own(Group, church_id, data.trigger_group_id):
        errors["trigger_group_id"] = "Choose the group people join."
    elif data.trigger == "keyword" and not _own(Keyword, church_id, data.trigger_keyword_id):
        errors["trigger_keyword_id"] = "Choose the keyword people text."
    if data.exit_group_id is not None and not _own(Group, church_id, data.exit_group_id):
        errors["exit_group_id"] = "Choose one of your groups."
    if not data.steps:
        errors["steps"] = "Add at least one step."
    elif len(data.steps) > MAX_STEPS:
        errors["steps"] = f"An automation has at most {MAX_STEPS} steps."
    for i, step in enumerate(data.steps[:MAX_STEPS]):
        problem = step_problem(church_id, step)
        if problem:
            errors[f"steps-{i}-{problem[0]}"] = problem[1]
    return errors


def step_problem(church_id: int, step: StepInput) -> tuple[str, str] | None:
    """(field, message) for the first thing wrong with a step, or None."""
    if step.kind not in STEP_KINDS:
        return "kind", "Choose what this step does."
    if step.kind == "wait":
        minutes = step.wait_minutes
        if step.wait_unit not in UNITS or minutes is None or minutes < 1:
            return "wait_amount", "Wait at least one minute."
        if minutes > MAX_WAIT_MINUTES:
            return "wait_amount", "Wait at most a year."
    if step.kind == "wait_until" and step.at_time is None:
        return "at_time", "Give the time of day (e.g. 09:00)."
    if step.kind in ("text", "notify"):
        body = step.body.strip()
        if step.kind == "text" and not body:
            return "body", "Write the text."
        if len(body) > MAX_BODY:
            return "body", f"Keep it under {MAX_BODY} characters."
        if unknown := merge.check_fields(body):
            return "body", unknown
    if step.kind in ("add_group", "remove_group") and not _own(Group, church_id, step.group_id):
        return "group_id", "Choose one of your groups."
    if step.kind in ("assign", "notify") and not _own_staff(church_id, step.user_id):
        return "user_id", "Choose someone on your staff."
    return None


def save(actor: User, data: WorkflowInput, workflow: Workflow | None = None) -> Workflow:
    """Create or replace a workflow (owners and admins); audited. Raises ValidationError with field errors."""
    if actor.role not in ADMINS:
        raise PermissionDenied("Only owners and admins can change automations.")
    errors = problems(actor.church_id, data)
    if errors:
        raise ValidationError("Check the highlighted fields.", details=errors)
    created = workflow is None
    if workflow is None:
        # The database's clock, the one every event it records is stamped with.
        workflow = Workflow(church_id=actor.church_id, active_since=func.now())
        db.session.add(workflow)
    workflow.name = data.name.strip()
    workflow.trigger = data.trigger
    workflow.trigger_group_id = data.trigger_group_id if data.trigger == "group_joined" else None
    workflow.trigger_keyword_id = data.trigger_keyword_id if data.trigger == "keyword" else None
    workflow.exit_on_reply = data.exit_on_reply
    workflow.exit_group_id = data.exit_group_id
    db.session.flush()
    # People already enrolled carry on from the step number they reached, in the new list.
    db.session.execute(delete(WorkflowStep).where(WorkflowStep.workflow_id == workflow.id))
    for position, step in enumerate(data.steps):
        db.session.add(
            WorkflowStep(
                church_id=workflow.church_id,
                workflow_id=workflow.id,
                position=position,
                kind=step.kind,
                wait_minutes=step.wait_minutes if step.kind == "wait" else None,
                at_time=step.at_time if step.kind == "wait_until" else None,
                body=step.body.strip() or None if step.kind in ("text", "notify") else None,
                group_id=step.group_id if step.kind in ("add_group", "remove_group") else None,
                user_id=step.user_id if step.kind in ("assign", "notify") else None,
            )
        )
    db.session.flush()
    audit.record(
        "automation.created" if created else "automation.updated",
        target=workflow,
        detail={"name": workflow.name, "trigger": workflow.trigger, "steps": len(data.steps)},
        actor=actor,
    )
    return workflow


def set_paused(actor: User, workflow: Workflow, paused: bool) -> None:
    """Pause (nobody enters, nobody moves) or resume (events from now on enroll); audited."""
    if actor.role not in ADMINS:
        raise PermissionDenied("Only owners and admins can pause automations.")
    wanted = "paused" if paused else "active"
    if workflow.status == wanted:
        return
    workflow.status = wanted
    if not paused:
        workflow.active_since = func.now()
    audit.record("automation.paused" if paused else "automation.resumed", target=workflow, actor=actor)


def as_input(workflow: Workflow, steps: list[WorkflowStep]) -> WorkflowInput:
    """A saved workflow as the form's input (for editing)."""
    inputs = []
    for step in steps:
        amount, unit = step.wait_minutes, "minutes"
        if amount:
            for name in ("days", "hours"):
                if amount % UNITS[name] == 0:
                    amount, unit = amount // UNITS[name], name
                    break
        inputs.append(StepInput(step.kind, amount, unit, step.at_time, step.body or "", step.group_id, step.user_id))
    return WorkflowInput(
        workflow.name,
        workflow.trigger,
        workflow.trigger_group_id,
        workflow.trigger_keyword_id,
        workflow.exit_on_reply,
        workflow.exit_group_id,
        inputs,
    )


def church_workflows(church_id: int) -> list[tuple[Workflow, int, int]]:
    """The church's workflows by name, each with how many people are in it now and in all."""
    active = func.count().filter(WorkflowEnrollment.status == "active")
    rows = db.session.execute(
        select(Workflow, active, func.count(WorkflowEnrollment.id))
        .outerjoin(WorkflowEnrollment, WorkflowEnrollment.workflow_id == Workflow.id)
        .where(Workflow.church_id == church_id)
        .group_by(Workflow.id)
        .order_by(Workflow.name, Workflow.id)
    ).all()
    return [(w, a, t) for w, a, t in rows]


@dataclass
class StepReport:
    step: WorkflowStep
    waiting: int = 0  # active people whose next step this is
    ran: int = 0
    skipped: int = 0
    sent: dict[str, int] = field(default_factory=dict)  # message status -> count


def report(workflow: Workflow, steps: list[WorkflowStep]) -> tuple[list[StepReport], dict[str, int]]:
    """Per step: who waits for it, how often it ran, what its texts became; and the totals by outcome."""
    by_position = {s.position: StepReport(s) for s in steps}
    waiting = db.session.execute(
        select(WorkflowEnrollment.position, func.count())
        .where(WorkflowEnrollment.workflow_id == workflow.id, WorkflowEnrollment.status == "active")
        .group_by(WorkflowEnrollment.position)
    ).all()
    for position, count in waiting:
        if position in by_position:
            by_position[position].waiting = count
    runs = db.session.execute(
        select(WorkflowStepRun.position, WorkflowStepRun.outcome, ConversationMessage.status, func.count())
        .outerjoin(ConversationMessage, ConversationMessage.id == WorkflowStepRun.message_id)
        .where(WorkflowStepRun.workflow_id == workflow.id)
        .group_by(WorkflowStepRun.position, WorkflowStepRun.outcome, ConversationMessage.status)
    ).all()
    for position, outcome, status, count in runs:
        row = by_position.get(position)
        if row is None:
            continue
        if outcome == "skipped":
            row.skipped += count
        else:
            row.ran += count
        if status:
            row.sent[status] = row.sent.get(status, 0) + count
    totals = dict(
        db.session.execute(
            select(func.coalesce(WorkflowEnrollment.exit_reason, WorkflowEnrollment.status), func.count())
            .where(WorkflowEnrollment.workflow_id == workflow.id)
            .group_by(func.coalesce(WorkflowEnrollment.exit_reason, WorkflowEnrollment.status))
        ).all()
    )
    return [by_position[s.position] for s in steps], totals
