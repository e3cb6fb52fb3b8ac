"""A guest's welcome series on a frozen clock: connect card → YES → text → wait 2 days → text → group."""

from __future__ import annotations

from sqlalchemy import select

from app.automations.services import StepInput
from app.models import ConversationMessage, GroupMember, Member, WorkflowStepRun
from tests.integration.automations.conftest import enrollment_of, make_workflow, reply, text_step, texts_to, wait
from tests.integration.connect.conftest import CARD, card_data
from tests.integration.inbox.conftest import run_high_queue

PHONE = "+13125550177"


def test_a_guest_walks_the_four_step_welcome_series(client, db, grace, owner, card, groups, simulator, clock):
    newcomers = groups[1]
    workflow = make_workflow(
        db,
        owner,
        [
            text_step("Hi {first_name|friend}, so glad you visited {church_name}!"),
            wait(days=2),
            text_step("{first_name}, coffee with our pastor this week?"),
            StepInput("add_group", group_id=newcomers.id),
        ],
        trigger="connect_card",
        name="Welcome series",
    )
    client.post(CARD, data=card_data(client))
    run_high_queue()
    clock.run(minutes=1)
    member = db.session.scalar(select(Member).where(Member.church_id == grace.id, Member.phone_e164 == PHONE))
    assert enrollment_of(db, workflow, member) is None  # no YES yet: not opted in, not enrolled
    assert len(texts_to(simulator, PHONE)) == 1  # only the card's "reply YES" text

    reply(db, PHONE, "YES")
    clock.run(seconds=5)
    texts = texts_to(simulator, PHONE)
    assert texts[-1] == f"Hi Ruth, so glad you visited {grace.name}!"
    enrollment = enrollment_of(db, workflow, member)
    assert (enrollment.status, enrollment.position) == ("active", 2)

    clock.run(days=1)  # a day later: still waiting
    assert len(texts_to(simulator, PHONE)) == len(texts)
    clock.run(days=1, minutes=1)
    assert texts_to(simulator, PHONE)[-1] == "Ruth, coffee with our pastor this week?"
    enrollment = enrollment_of(db, workflow, member)
    assert (enrollment.status, enrollment.exit_reason) == ("completed", None)
    assert db.session.scalar(
        select(GroupMember).where(GroupMember.member_id == member.id, GroupMember.group_id == newcomers.id)
    )
    runs = db.session.execute(
        select(WorkflowStepRun.position, WorkflowStepRun.outcome).where(WorkflowStepRun.enrollment_id == enrollment.id)
    ).all()
    assert sorted(runs) == [(0, "sent"), (1, "done"), (2, "sent"), (3, "done")]
    automated = db.session.scalars(
        select(ConversationMessage.status).where(
            ConversationMessage.automated, ConversationMessage.church_id == grace.id
        )
    ).all()
    assert len(automated) == 2

    # Running again, or another YES, never enrolls or texts them a second time.
    reply(db, PHONE, "YES")
    clock.run(days=3)
    assert texts_to(simulator, PHONE).count("Ruth, coffee with our pastor this week?") == 1
