"""The development clock (`flask automations advance`) and a staff notice mailed by a step."""

from __future__ import annotations

from sqlalchemy import text

from app.automations.services import StepInput
from tests.conftest import deliver_mail
from tests.integration.automations.conftest import enrollment_of, make_workflow, new_member, text_step, texts_to, wait
from tests.integration.inbox.conftest import run_high_queue

PHONE = "+13125550193"


def _enrolled(db, grace, owner, groups, clock):
    workflow = make_workflow(
        db, owner, [text_step("One"), wait(days=2), text_step("Two")], trigger_group_id=groups[0].id
    )
    member = new_member(db, grace, PHONE)
    db.session.execute(
        text("INSERT INTO group_members (church_id, group_id, member_id) VALUES (:c, :g, :m)"),
        {"c": grace.id, "g": groups[0].id, "m": member.id},
    )
    db.session.commit()
    clock.run(seconds=1)
    return workflow, member


def test_advance_moves_due_times_so_step_two_runs_now(app, db, grace, owner, groups, simulator, clock):
    workflow, member = _enrolled(db, grace, owner, groups, clock)
    assert texts_to(simulator, PHONE) == ["One"]
    result = app.test_cli_runner().invoke(args=["automations", "advance", "--days", "2"])
    assert result.exit_code == 0, result.output
    assert "Moved 1 enrollment(s)" in result.output
    run_high_queue()
    assert texts_to(simulator, PHONE) == ["One", "Two"]
    assert enrollment_of(db, workflow, member).status == "completed"


def test_advance_refuses_outside_development(app, db, grace, owner, groups, simulator, clock):
    workflow, member = _enrolled(db, grace, owner, groups, clock)
    app.config["KOINONIA_ENV"] = "production"
    try:
        result = app.test_cli_runner().invoke(args=["automations", "advance", "--days", "2"])
    finally:
        app.config["KOINONIA_ENV"] = "test"
    assert result.exit_code != 0 and "development" in result.output
    assert enrollment_of(db, workflow, member).position == 2  # still waiting


def test_a_notify_step_mails_the_staff_member(db, grace, owner, groups, simulator, clock, mailbox):
    make_workflow(
        db,
        owner,
        [StepInput("notify", body="Call {first_name} this week", user_id=owner.id)],
        trigger_group_id=groups[0].id,
        name="Follow-up",
    )
    member = new_member(db, grace, PHONE)
    db.session.execute(
        text("INSERT INTO group_members (church_id, group_id, member_id) VALUES (:c, :g, :m)"),
        {"c": grace.id, "g": groups[0].id, "m": member.id},
    )
    db.session.commit()
    clock.run(seconds=1)
    deliver_mail()
    [mail] = mailbox.messages(owner.email)
    assert "Lydia Thyatira" in mail["subject"] and "Follow-up" in mail["subject"]
    assert "Call Lydia this week" in mail["text"] and f"/members/{member.id}" in mail["text"]


def test_the_workflow_page_moves_time_forward_in_development_only(
    app, client, db, grace, owner, groups, simulator, clock, login_as
):
    workflow, member = _enrolled(db, grace, owner, groups, clock)
    login_as("owner")
    page = client.get(f"/automations/{workflow.id}").get_data(as_text=True)
    assert "Move time forward" in page
    response = client.post(f"/automations/{workflow.id}/advance", data={"hours": "48"})
    assert response.status_code == 303
    run_high_queue()
    assert texts_to(simulator, PHONE) == ["One", "Two"]
    assert client.post(f"/automations/{workflow.id}/advance", data={"hours": "5"}).status_code == 404
    app.config["KOINONIA_ENV"] = "production"
    try:
        assert "Move time forward" not in client.get(f"/automations/{workflow.id}").get_data(as_text=True)
        assert client.post(f"/automations/{workflow.id}/advance", data={"hours": "24"}).status_code == 404
    finally:
        app.config["KOINONIA_ENV"] = "test"
