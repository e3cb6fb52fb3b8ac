"""The workflow form: parsed from the posted fields by hand, because its steps are a list that grows.

Field names: name, trigger, trigger_group_id, trigger_keyword_id, exit_on_reply, exit_group_id,
and for each step `steps-<i>-kind`, `-wait_amount`, `-wait_unit`, `-at_time`, `-body`,
`-group_id`, `-user_id`, `-remove`. Everything is bounded before it is looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import select

from app.automations.services import MAX_STEPS, StepInput, WorkflowInput
from app.extensions import db
from app.models import Group, Keyword, User
from app.security.inputs import parse_id

FIELD_MAX = 2000
AMOUNT_DIGITS = 6


def _text(form: Any, name: str, limit: int = FIELD_MAX) -> str:
    return str(form.get(name) or "")[:limit]


def _time(value: str) -> time | None:
    try:
        return datetime.strptime(value.strip()[:5], "%H:%M").time()
    except ValueError:
        return None


def _amount(value: str) -> int | None:
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= AMOUNT_DIGITS else None


def parse(form: Any) -> WorkflowInput:
    """The input the posted form describes (unknown or malformed values become None, for `problems`)."""
    steps = []
    for i in range(MAX_STEPS + 1):
        prefix = f"steps-{i}-"
        kind = _text(form, prefix + "kind", 32)
        if not kind or form.get(prefix + "remove"):
            continue
        steps.append(
            StepInput(
                kind=kind,
                wait_amount=_amount(_text(form, prefix + "wait_amount", 16)),
                wait_unit=_text(form, prefix + "wait_unit", 16),
                at_time=_time(_text(form, prefix + "at_time", 16)),
                body=_text(form, prefix + "body"),
                group_id=parse_id(_text(form, prefix + "group_id", 32)),
                user_id=parse_id(_text(form, prefix + "user_id", 32)),
            )
        )
    return WorkflowInput(
        name=_text(form, "name", 200),
        trigger=_text(form, "trigger", 32),
        trigger_group_id=parse_id(_text(form, "trigger_group_id", 32)),
        trigger_keyword_id=parse_id(_text(form, "trigger_keyword_id", 32)),
        exit_on_reply=bool(form.get("exit_on_reply")),
        exit_group_id=parse_id(_text(form, "exit_group_id", 32)),
        steps=steps,
    )


def reordered(data: WorkflowInput, action: str) -> WorkflowInput:
    """The input after an editing button: "add" a blank text step, "up-<i>" move step i up."""
    if action == "add" and len(data.steps) < MAX_STEPS:
        data.steps.append(StepInput("text"))
    elif action.startswith("up-"):
        i = parse_id(action[3:])
        if i is not None and 0 < i < len(data.steps):
            data.steps[i - 1], data.steps[i] = data.steps[i], data.steps[i - 1]
    return data


@dataclass(frozen=True)
class Choices:
    """The church's own groups, keywords and staff, for the selects."""

    groups: list[tuple[int, str]]
    keywords: list[tuple[int, str]]
    staff: list[tuple[int, str]]


def choices(church_id: int) -> Choices:
    groups = db.session.execute(select(Group.id, Group.name).where(Group.church_id == church_id).order_by(Group.name))
    keywords = db.session.execute(
        select(Keyword.id, Keyword.word).where(Keyword.church_id == church_id).order_by(Keyword.word)
    )
    staff = db.session.execute(
        select(User.id, User.name, User.email).where(User.church_id == church_id, User.active).order_by(User.email)
    )
    return Choices(
        groups=[(i, n) for i, n in groups],
        keywords=[(i, w) for i, w in keywords],
        staff=[(i, name or email) for i, name, email in staff],
    )
