"""The /automations pages: the list, a workflow's report, create and edit, pause and resume.

Owners and admins use them; every change is audited (app.automations.services).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.decorators import ADMINS, role_required
from app.automations import bp, services
from app.automations.engine import run_due, steps_of
from app.automations.forms import choices, parse, reordered
from app.automations.tasks import advance, advance_allowed
from app.errors import ValidationError
from app.extensions import db
from app.models import Workflow
from app.security.inputs import parse_id
from app.tenancy import get_or_404


@bp.get("/automations")
@role_required(*ADMINS)
def index():
    """The church's automations, with how many people are in each."""
    return render_template("automations/page.html", workflows=services.church_workflows(current_user.church_id))


@bp.get("/automations/<int:workflow_id>")
@role_required(*ADMINS)
def detail(workflow_id: int):
    """A workflow: its trigger and exits, who waits at each step, what each step did and sent."""
    workflow = get_or_404(Workflow, workflow_id)
    steps = steps_of(workflow.id)
    rows, totals = services.report(workflow, steps)
    return render_template(
        "automations/detail.html", workflow=workflow, rows=rows, totals=totals, choices=choices(workflow.church_id)
    )


def _form_page(data: services.WorkflowInput, workflow: Workflow | None, errors: dict, status: int = 200):
    return render_template(
        "automations/edit.html",
        data=data,
        workflow=workflow,
        errors=errors,
        choices=choices(current_user.church_id),
    ), status


def _submit(workflow: Workflow | None):
    data = parse(request.form)
    action = str(request.form.get("action") or "save")[:16]
    if action != "save":  # add a step or move one: the same form again, nothing saved
        return _form_page(reordered(data, action), workflow, {})
    try:
        saved = services.save(current_user, data, workflow)
    except ValidationError as exc:
        db.session.rollback()
        return _form_page(data, workflow, exc.details, 422)
    db.session.commit()
    flash(f"Automation {saved.name} saved.", "success")
    return redirect(url_for("automations.detail", workflow_id=saved.id), 303)


@bp.route("/automations/new", methods=["GET", "POST"])
@role_required(*ADMINS)
def new():
    """Create a workflow."""
    if request.method == "POST":
        return _submit(None)
    blank = services.WorkflowInput(
        name="", trigger="connect_card", steps=[services.StepInput("text"), services.StepInput("wait")]
    )
    return _form_page(blank, None, {})


@bp.route("/automations/<int:workflow_id>/edit", methods=["GET", "POST"])
@role_required(*ADMINS)
def edit(workflow_id: int):
    """Change a workflow's trigger, steps or exits."""
    workflow = get_or_404(Workflow, workflow_id)
    if request.method == "POST":
        return _submit(workflow)
    return _form_page(services.as_input(workflow, steps_of(workflow.id)), workflow, {})


@bp.post("/automations/<int:workflow_id>/pause")
@role_required(*ADMINS)
def pause(workflow_id: int):
    """Pause: nobody new enters and nobody moves on until it is resumed."""
    return _set_paused(workflow_id, True)


@bp.post("/automations/<int:workflow_id>/resume")
@role_required(*ADMINS)
def resume(workflow_id: int):
    """Resume: people move on again, and triggers from now on enroll."""
    return _set_paused(workflow_id, False)


ADVANCE_HOURS = (1, 24, 48)


@bp.post("/automations/<int:workflow_id>/advance")
@role_required(*ADMINS)
def advance_time(workflow_id: int):
    """Development only: act as if hours had passed for this workflow's people, and run what is due."""
    workflow = get_or_404(Workflow, workflow_id)
    hours = parse_id(request.form.get("hours"))
    if not advance_allowed() or hours not in ADVANCE_HOURS:
        abort(404)
    moved = advance(timedelta(hours=hours), workflow.church_id, workflow.id)
    db.session.commit()
    run_due(datetime.now(UTC))
    people = "1 person" if moved == 1 else f"{moved} people"
    flash(f"Moved {people} {hours} hours ahead; their due steps ran.", "success")
    return redirect(url_for("automations.detail", workflow_id=workflow.id), 303)


def _set_paused(workflow_id: int, paused: bool):
    workflow = get_or_404(Workflow, workflow_id)
    services.set_paused(current_user, workflow, paused)
    db.session.commit()
    flash(f"Automation {workflow.name} {'paused' if paused else 'resumed'}.", "success")
    return redirect(url_for("automations.detail", workflow_id=workflow.id), 303)


@bp.context_processor
def labels() -> dict:
    """The words the pages use for triggers, steps and exits."""
    return {
        "trigger_labels": services.TRIGGER_LABELS,
        "step_labels": services.STEP_LABELS,
        "exit_labels": services.EXIT_LABELS,
        "max_steps": services.MAX_STEPS,
        "advance_hours": ADVANCE_HOURS if advance_allowed() else (),
        "wait_label": services.wait_label,
    }
