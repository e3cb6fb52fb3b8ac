"""Automations helpers: a church without quiet hours, workflows saved as an owner would, a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from app.automations import services
from app.automations.engine import run_due
from app.automations.services import StepInput, WorkflowInput
from app.inbox.inbound import handle_received
from app.models import Member, User, WorkflowEnrollment
from tests.integration.connect.conftest import card, groups  # noqa: F401 - fixtures, shared
from tests.integration.inbox.conftest import run_high_queue, simulator, telnyx_payload  # noqa: F401


@pytest.fixture
def grace(db, church):
    """Grace with no quiet hours, so a step's moment is the test's to choose."""
    church.quiet_hours_start = church.quiet_hours_end = None
    db.session.commit()
    return church


@pytest.fixture
def owner(db, church):
    return db.session.scalar(select(User).where(User.email == "admin@example.org"))


class Clock:
    """A frozen clock the test moves by hand; each tick runs the scheduler once at that moment."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def run(self, **delta) -> int:
        self.now += timedelta(**delta)
        handled = run_due(self.now)
        run_high_queue()
        return handled


@pytest.fixture
def clock(db):
    # A little behind the wall clock, so texts the test sends now come after the steps it runs first.
    return Clock(datetime.now(UTC) - timedelta(minutes=10))


def text_step(body: str) -> StepInput:
    return StepInput("text", body=body)


def wait(days: int = 0, hours: int = 0, minutes: int = 0) -> StepInput:
    if days:
        return StepInput("wait", wait_amount=days, wait_unit="days")
    if hours:
        return StepInput("wait", wait_amount=hours, wait_unit="hours")
    return StepInput("wait", wait_amount=minutes, wait_unit="minutes")


def until(at: time) -> StepInput:
    return StepInput("wait_until", at_time=at)


def make_workflow(db, owner, steps, trigger="group_joined", **fields):
    data = WorkflowInput(name=fields.pop("name", "Welcome"), trigger=trigger, steps=steps, **fields)
    workflow = services.save(owner, data)
    db.session.commit()
    return workflow


def reply(db, phone: str, body: str):
    handle_received(telnyx_payload(phone, text=body))
    db.session.commit()
    run_high_queue()
    db.session.expire_all()


def enrollment_of(db, workflow, member) -> WorkflowEnrollment | None:
    db.session.expire_all()
    return db.session.scalar(
        select(WorkflowEnrollment).where(
            WorkflowEnrollment.workflow_id == workflow.id, WorkflowEnrollment.member_id == member.id
        )
    )


def new_member(db, church, phone: str, first_name: str = "Lydia", opted_out: bool = False) -> Member:
    member = Member(
        church_id=church.id,
        first_name=first_name,
        last_name="Thyatira",
        phone_e164=phone,
        opted_out_at=datetime.now(UTC) if opted_out else None,
    )
    db.session.add(member)
    db.session.commit()
    return member


def texts_to(sim, phone: str) -> list[str]:
    return [m["text"] for m in sim.messages(to=phone)]
