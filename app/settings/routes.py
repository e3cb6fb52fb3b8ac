"""Church settings: an index of sections, the church itself, and branches and sending numbers.

Other domains add their own section to templates/settings/index.html (one card each).
"""

from __future__ import annotations

from contextlib import closing

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.decorators import ADMINS, OWNERS, role_required
from app.deletion import ask_then_delete
from app.delivery import make_provider
from app.errors import Conflict
from app.extensions import db, limiter
from app.keywords.services import default_help_text
from app.models import Branch, PhoneNumber
from app.security.inputs import parse_id
from app.settings import bp, buying, services
from app.settings.forms import (
    HELP_TEXT_MAX,
    NUMBER_TYPE_LABELS,
    BranchForm,
    ChurchForm,
    NumberForm,
    NumberOrderForm,
    NumberSearchForm,
)
from app.tenancy import get_branch_or_404, get_or_404, scoped


@bp.get("/settings")
@role_required(*ADMINS)
def index():
    """Church settings: one card per section."""
    branches, unassigned = services.branches_with_numbers(current_user.church_id)
    return render_template(
        "settings/index.html", branches=branches, unassigned=unassigned, number_types=NUMBER_TYPE_LABELS
    )


@bp.route("/settings/church", methods=["GET", "POST"])
@role_required(*ADMINS)
def church_settings():
    """The church's name, time zone, quiet hours, HELP reply and whether leaders may send."""
    church = current_user.church
    form = ChurchForm(obj=church)
    if not form.is_submitted():
        form.fill_from(church)
    elif form.validate():
        saved = services.save_church(
            current_user,
            church,
            name=form.name.data,
            timezone=form.timezone.data,
            quiet_hours=form.quiet_hours_times(),
            help_text=form.help_text.data,
            leaders_can_send=form.leaders_can_send.data,
        )
        db.session.commit()
        # After the commit, so a released batch job reads the new quiet hours.
        services.release_quiet_hold(church.id, saved.retry_in)
        flash("Church settings saved.", "success")
        return redirect(url_for("settings.church_settings"))
    status = 422 if form.errors else 200
    return render_template(
        "settings/church.html",
        form=form,
        default_help=default_help_text(church),
        help_max=HELP_TEXT_MAX,
    ), status


@bp.get("/settings/branches")
@role_required(*ADMINS)
def branches():
    """Branches and the numbers they send from."""
    branches, unassigned = services.branches_with_numbers(current_user.church_id)
    return render_template(
        "settings/branches.html", branches=branches, unassigned=unassigned, number_types=NUMBER_TYPE_LABELS
    )


def _save_or_show(form, save, conflict_field, saved_message, template: str, **context):
    """Validate and save a settings form; a Conflict (duplicate name or number) shows by its field."""
    if form.validate_on_submit():
        try:
            saved = save()
        except Conflict as err:
            db.session.rollback()
            conflict_field.errors = [*conflict_field.errors, err.message]
        else:
            db.session.commit()
            flash(saved_message(saved), "success")
            return redirect(url_for("settings.branches"))
    status = 422 if request.method == "POST" else 200
    return render_template(template, form=form, **context), status


def _branch_form_page(form: BranchForm, branch: Branch | None):
    return _save_or_show(
        form,
        lambda: services.save_branch(current_user, branch, form.name.data, form.address.data),
        form.name,
        lambda saved: f"Branch “{saved.name}” saved.",
        "settings/branch_form.html",
        branch=branch,
    )


@bp.route("/settings/branches/new", methods=["GET", "POST"])
@role_required(*ADMINS)
def new_branch():
    """Add a branch (a campus or location)."""
    return _branch_form_page(BranchForm(), None)


@bp.route("/settings/branches/<int:branch_id>/edit", methods=["GET", "POST"])
@role_required(*ADMINS)
def edit_branch(branch_id: int):
    """Rename a branch or change its address."""
    branch = get_branch_or_404(branch_id)
    return _branch_form_page(BranchForm(obj=branch), branch)


@bp.route("/settings/branches/<int:branch_id>/delete", methods=["GET", "POST"])
@role_required(*ADMINS)
def delete_branch(branch_id: int):
    """Ask, then delete a branch (members and numbers stay, without a branch)."""
    branch = get_branch_or_404(branch_id)
    return ask_then_delete(
        lambda: services.delete_branch(current_user, branch),
        message=f"Branch “{branch.name}” deleted.",
        done=url_for("settings.branches"),
        template="settings/confirm_delete.html",
        what=f"the branch “{branch.name}”",
        note="Its members and its sending number stay, without a branch.",
        action=url_for("settings.delete_branch", branch_id=branch.id),
    )


def _number_form(number: PhoneNumber | None = None) -> NumberForm:
    branches = db.session.scalars(scoped(Branch).order_by(Branch.name)).all()
    form = NumberForm(obj=number, country=current_user.church.country or "US", branches=branches)
    if number is not None and request.method == "GET":
        form.branch_id.data = number.branch_id or 0
    elif request.method == "GET" and parse_id(request.args.get("branch")):
        form.branch_id.data = parse_id(request.args.get("branch"))
    return form


def _save_number(form: NumberForm, number: PhoneNumber | None) -> PhoneNumber:
    with closing(make_provider(current_app.config)) as provider:
        return services.save_number(
            current_user, number, form.e164.data, form.number_type.data, form.branch_id.data or None, provider
        )


def _number_form_page(form: NumberForm, number: PhoneNumber | None):
    return _save_or_show(
        form,
        lambda: _save_number(form, number),
        form.e164,
        lambda saved: f"Number {saved.e164} saved.",
        "settings/number_form.html",
        number=number,
    )


@bp.route("/settings/numbers/new", methods=["GET", "POST"])
@role_required(*ADMINS)
def new_number():
    """Add a sending number, church-wide or for one branch."""
    return _number_form_page(_number_form(), None)


@bp.route("/settings/numbers/<int:number_id>/edit", methods=["GET", "POST"])
@role_required(*ADMINS)
def edit_number(number_id: int):
    """Change a number's type or branch."""
    number = get_or_404(PhoneNumber, number_id)
    return _number_form_page(_number_form(number), number)


@bp.route("/settings/numbers/<int:number_id>/delete", methods=["GET", "POST"])
@role_required(*ADMINS)
def delete_number(number_id: int):
    """Ask, then remove a sending number."""
    number = get_or_404(PhoneNumber, number_id)
    return ask_then_delete(
        lambda: services.delete_number(current_user, number),
        message=f"Number {number.e164} removed.",
        done=url_for("settings.branches"),
        template="settings/confirm_delete.html",
        what=f"the number {number.e164}",
        note="Texts can no longer be sent from it; conversations on it stay in the inbox.",
        action=url_for("settings.delete_number", number_id=number.id),
    )


@bp.get("/settings/numbers/buy")
@role_required(*OWNERS)
def buy_number():
    """Search the provider's numbers on offer (local by area code, or toll-free)."""
    form = NumberSearchForm(request.args)
    offered, status = None, 200
    if request.args:
        if form.validate():
            try:
                with closing(make_provider(current_app.config)) as provider:
                    offered = buying.find(
                        current_user, provider, area_code=form.area_code.data, toll_free=form.kind.data == "toll_free"
                    )
            except Conflict as err:
                form.form_errors.append(err.message)
                status = 503
        else:
            status = 422
    return render_template(
        "settings/buy_number.html", form=form, offered=offered, max_numbers=buying.MAX_NUMBERS
    ), status


@bp.post("/settings/numbers/buy")
@role_required(*OWNERS)
@limiter.limit("10 per hour", key_func=lambda: f"buy-number:{current_user.church_id}")
def order_number():
    """Order one of the numbers a search offered."""
    form = NumberOrderForm()
    if not form.validate_on_submit():
        flash(buying.NOT_OFFERED, "error")
        return redirect(url_for("settings.buy_number"))
    number_type = "toll_free" if form.kind.data == "toll_free" else "long_code"
    try:
        with closing(make_provider(current_app.config)) as provider:
            number = buying.order(current_user, provider, form.phone_number.data, number_type)
        db.session.commit()
    except Conflict as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("settings.buy_number", **{"kind": form.kind.data}))
    if number is None:
        flash(
            f"{form.phone_number.data} is ordered. Telnyx is still activating it: it shows here within a few minutes.",
            "info",
        )
    else:
        flash(f"{number.e164} is yours. Texts can go out from it now.", "success")
    return redirect(url_for("settings.branches"))
