"""Property: over random workflows and member events, with two workers claiming at once, nobody
opted out is ever texted and no step runs twice for one enrollment.

The workers need connections of their own, so this test commits for real in a church of its own
(deleted at the end) instead of the rolled-back transaction other tests share.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text

from app.automations import services
from app.automations.engine import run_due
from app.automations.services import StepInput, WorkflowInput
from app.extensions import db
from app.inbox.inbound import handle_received
from app.models import Church, ConversationMessage, Group, PhoneNumber, User, WorkflowEnrollment, WorkflowStepRun
from tests.integration.inbox.conftest import run_high_queue, telnyx_payload

NUMBER = "+13125550999"
PHONES = (f"+1773444{n:04d}" for n in itertools.count())


@pytest.fixture
def scratch(app, simulator):
    """A church of the test's own, committed, with a number, two groups and an owner; deleted afterwards."""
    with app.app_context():
        church = Church(name="Property Chapel", slug=f"property-{uuid.uuid4().hex[:8]}", timezone="America/Chicago")
        church.quiet_hours_start = church.quiet_hours_end = None
        db.session.add(church)
        db.session.flush()
        db.session.add(PhoneNumber(church_id=church.id, e164=NUMBER, is_default=True))
        groups = [Group(church_id=church.id, name=n) for n in ("Joiners", "Helpers")]
        owner = User(church_id=church.id, email=f"{church.slug}@example.org", password_hash="x", role="owner")
        db.session.add_all([*groups, owner])
        db.session.commit()
        ids = church.id, [g.id for g in groups], owner.id
        try:
            yield ids
        finally:
            db.session.rollback()
            db.session.execute(delete(Church).where(Church.id == church.id))
            db.session.commit()


step_strategy = st.one_of(
    st.builds(lambda n: ("text", n), st.integers(0, 99)),
    st.builds(lambda m: ("wait", m), st.integers(1, 90)),
    st.just(("add_group", 1)),
    st.just(("remove_group", 0)),
)
event_strategy = st.tuples(st.integers(0, 4), st.sampled_from(("join", "leave", "stop", "start", "reply")))


def _workers(app, now: datetime) -> None:
    """Two workers run one pass each, at the same moment, on connections of their own."""
    barrier, errors = threading.Barrier(2), []

    def work():
        with app.app_context():
            try:
                barrier.wait()
                run_due(now, batch=2)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    steps=st.lists(step_strategy, min_size=1, max_size=6),
    exit_on_reply=st.booleans(),
    exit_on_leave=st.booleans(),
    rounds=st.lists(st.tuples(st.lists(event_strategy, max_size=4), st.integers(0, 120)), min_size=1, max_size=6),
)
def test_nobody_opted_out_is_texted_and_no_step_runs_twice(
    app, scratch, simulator, steps, exit_on_reply, exit_on_leave, rounds
):
    church_id, (joiners, helpers), owner_id = scratch
    with app.app_context():
        owner = db.session.get(User, owner_id)
        tag = uuid.uuid4().hex[:6]
        inputs = [
            StepInput("text", body=f"Auto {tag} {arg} {{first_name}}")
            if kind == "text"
            else StepInput("wait", wait_amount=arg, wait_unit="minutes")
            if kind == "wait"
            else StepInput(kind, group_id=(joiners, helpers)[arg])
            for kind, arg in steps
        ]
        workflow = services.save(
            owner,
            WorkflowInput(
                name=f"Series {tag}",
                trigger="group_joined",
                trigger_group_id=joiners,
                exit_on_reply=exit_on_reply,
                exit_group_id=joiners if exit_on_leave else None,
                steps=inputs,
            ),
        )
        db.session.commit()
        phones = [next(PHONES) for _ in range(5)]
        for phone in phones:  # each member texts in once: they exist, opted in
            handle_received(telnyx_payload(phone, to=NUMBER, text="Hello"))
            db.session.commit()
        members = dict(
            db.session.execute(
                text("SELECT phone_e164, id FROM members WHERE church_id = :c AND phone_e164 = ANY(:p)"),
                {"c": church_id, "p": phones},
            ).all()
        )
        opted_out: set[str] = set()
        now = datetime.now(UTC)
        for events, minutes in rounds:
            for who, what in events:
                phone = phones[who]
                if what in ("join", "leave"):
                    sql = (
                        "INSERT INTO group_members (church_id, group_id, member_id) VALUES (:c, :g, :m) "
                        "ON CONFLICT DO NOTHING"
                        if what == "join"
                        else "DELETE FROM group_members WHERE group_id = :g AND member_id = :m"
                    )
                    db.session.execute(text(sql), {"c": church_id, "g": joiners, "m": members[phone]})
                else:
                    word = {"stop": "STOP", "start": "START", "reply": "Thanks"}[what]
                    handle_received(telnyx_payload(phone, to=NUMBER, text=word))
                    if what == "stop":
                        opted_out.add(phone)
                    elif what == "start":
                        opted_out.discard(phone)
                db.session.commit()
            run_high_queue()  # keyword replies go out before the automation runs
            already = {m["id"] for m in simulator.messages()}
            now = max(now, datetime.now(UTC)) + timedelta(minutes=minutes)
            _workers(app, now)
            run_high_queue()
            texted = {m["to"] for m in simulator.messages() if m["id"] not in already and m["text"].startswith("Auto")}
            assert not texted & opted_out, "an opted-out member was texted by an automation"

        db.session.expire_all()
        enrollments = db.session.scalars(
            select(WorkflowEnrollment).where(WorkflowEnrollment.workflow_id == workflow.id)
        ).all()
        assert all(e.hold_reason != "error" for e in enrollments), "a step failed (a second run would)"
        runs = db.session.execute(
            select(WorkflowStepRun.enrollment_id, WorkflowStepRun.position, WorkflowStepRun.message_id).where(
                WorkflowStepRun.workflow_id == workflow.id
            )
        ).all()
        assert not [k for k, n in Counter((r[0], r[1]) for r in runs).items() if n > 1]
        # Every automated message is the one outbox of one step run: none sent outside a run.
        sent_ids = {r.message_id for r in runs if r.message_id}
        automated = db.session.scalars(
            select(ConversationMessage.id).where(
                ConversationMessage.church_id == church_id,
                ConversationMessage.automated,
                ConversationMessage.body.like(f"Auto {tag} %"),
            )
        ).all()
        assert set(automated) == sent_ids
        for e in enrollments:
            assert e.position <= len(inputs)
