"""The /automations pages: list, create with field errors, edit, the report, pause; owners and admins only."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.models import AuditLog, Group, GroupMember, Workflow, WorkflowStep
from tests.integration.automations.conftest import make_workflow, new_member, text_step, texts_to, wait

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _token(client, path="/automations/new") -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def _form(client, groups, **overrides) -> dict:
    data = {
        "csrf_token": _token(client),
        "name": "Welcome series",
        "trigger": "group_joined",
        "trigger_group_id": str(groups[0].id),
        "exit_on_reply": "y",
        "exit_group_id": "",
        "steps-0-kind": "text",
        "steps-0-body": "Hi {first_name|friend}!",
        "steps-1-kind": "wait",
        "steps-1-wait_amount": "2",
        "steps-1-wait_unit": "days",
        "steps-2-kind": "add_group",
        "steps-2-group_id": str(groups[1].id),
    }
    data.update(overrides)
    return data


def test_leaders_may_not_see_automations(client, db, login_as):
    login_as("leader")
    assert client.get("/automations").status_code == 403
    assert client.get("/automations/new").status_code == 403


def test_an_admin_creates_a_workflow_and_it_is_audited(client, db, church, groups, login_as):
    login_as("owner")
    response = client.post("/automations/new", data=_form(client, groups))
    assert response.status_code == 303
    workflow = db.session.scalar(
        select(Workflow).where(Workflow.church_id == church.id, Workflow.name == "Welcome series")
    )
    steps = db.session.execute(
        select(WorkflowStep.kind, WorkflowStep.wait_minutes, WorkflowStep.group_id)
        .where(WorkflowStep.workflow_id == workflow.id)
        .order_by(WorkflowStep.position)
    ).all()
    assert steps == [("text", None, None), ("wait", 2 * 24 * 60, None), ("add_group", None, groups[1].id)]
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "automation.created"))
    assert audit.target_id == workflow.id and audit.church_id == church.id
    listing = client.get("/automations").get_data(as_text=True)
    assert "Welcome series" in listing and "Someone joins a group" in listing


def test_errors_stand_by_their_fields_and_what_was_typed_stays(client, db, church, groups, login_as):
    login_as("owner")
    form = _form(client, groups, name="Typed name", **{"steps-0-body": "Hi {firstname}", "steps-1-wait_amount": "0"})
    form["trigger_group_id"] = ""
    response = client.post("/automations/new", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="trigger_group_id-error"' in html and "Choose the group people join." in html
    assert 'id="steps-0-body-error"' in html and "{firstname} is not a merge field" in html
    assert 'id="steps-1-wait_amount-error"' in html
    assert 'value="Typed name"' in html and "Hi {firstname}</textarea>" in html
    assert db.session.scalar(select(Workflow).where(Workflow.name == "Typed name")) is None


def test_another_churchs_group_is_refused(client, db, other_church, groups, login_as):
    theirs = db.session.scalar(select(Group).where(Group.church_id == other_church.id))
    if theirs is None:
        theirs = Group(church_id=other_church.id, name="Hope only")
        db.session.add(theirs)
        db.session.commit()
    login_as("owner")
    response = client.post("/automations/new", data=_form(client, groups, **{"steps-2-group_id": str(theirs.id)}))
    assert response.status_code == 422 and 'id="steps-2-group_id-error"' in response.get_data(as_text=True)


def test_add_a_step_and_move_one_up_without_saving(client, db, groups, login_as):
    login_as("owner")
    html = client.post("/automations/new", data=_form(client, groups, action="add")).get_data(as_text=True)
    assert 'name="steps-3-kind"' in html and 'value="Welcome series"' in html
    html = client.post("/automations/new", data=_form(client, groups, action="up-1")).get_data(as_text=True)
    first = html.index('name="steps-0-wait_amount" id="steps-0-wait_amount" value="2"')
    assert first > 0
    assert db.session.scalar(select(Workflow).where(Workflow.name == "Welcome series")) is None


def test_the_workflow_page_counts_people_per_step_and_what_was_sent(
    client, db, grace, owner, groups, simulator, clock, login_as
):
    workflow = make_workflow(
        db, owner, [text_step("Hello {first_name}"), wait(days=2), text_step("Again")], trigger_group_id=groups[0].id
    )
    for phone in ("+13125550181", "+13125550182"):
        member = new_member(db, grace, phone)
        db.session.add(GroupMember(church_id=grace.id, group_id=groups[0].id, member_id=member.id))
    db.session.commit()
    clock.run(seconds=1)
    assert texts_to(simulator, "+13125550181") == ["Hello Lydia"]
    login_as("owner")
    html = client.get(f"/automations/{workflow.id}").get_data(as_text=True)
    assert "In it now: <strong>2</strong>" in html
    row = re.search(r"<td>3</td>.*?</tr>", html, re.S).group(0)
    assert "<td>2</td>" in row  # both wait for step 3
    row = re.search(r"<td>1</td>.*?</tr>", html, re.S).group(0)
    assert "2 sending" in row  # handed to the provider; its status webhooks move them on


def test_pause_and_resume_are_audited(client, db, owner, groups, login_as):
    workflow = make_workflow(db, owner, [text_step("Hi")], trigger_group_id=groups[0].id)
    login_as("owner")
    token = _token(client, f"/automations/{workflow.id}")
    assert client.post(f"/automations/{workflow.id}/pause", data={"csrf_token": token}).status_code == 303
    db.session.refresh(workflow)
    assert workflow.status == "paused" and "Resume" in client.get(f"/automations/{workflow.id}").get_data(as_text=True)
    client.post(f"/automations/{workflow.id}/resume", data={"csrf_token": token})
    db.session.refresh(workflow)
    assert workflow.status == "active"
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.target_id == workflow.id)).all()
    assert {"automation.paused", "automation.resumed"} <= set(actions)


def test_a_post_without_the_token_is_refused(app, client, db, groups, login_as):
    login_as("owner")
    form = _form(client, groups)
    form["csrf_token"] = "forged"
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/automations/new", data=form)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code in (400, 403, 422)
    assert db.session.scalar(select(Workflow).where(Workflow.name == "Welcome series")) is None


def test_editing_keeps_the_steps_and_saves_changes(client, db, owner, groups, login_as):
    workflow = make_workflow(db, owner, [text_step("Hi"), wait(hours=3)], trigger_group_id=groups[0].id)
    login_as("owner")
    html = client.get(f"/automations/{workflow.id}/edit").get_data(as_text=True)
    assert "Hi</textarea>" in html and 'value="3"' in html
    form = _form(client, groups, name="Renamed")
    form["csrf_token"] = _token(client, f"/automations/{workflow.id}/edit")
    assert client.post(f"/automations/{workflow.id}/edit", data=form).status_code == 303
    db.session.refresh(workflow)
    assert workflow.name == "Renamed"
    assert db.session.scalar(
        select(AuditLog.action).where(AuditLog.target_id == workflow.id, AuditLog.action == "automation.updated")
    )
