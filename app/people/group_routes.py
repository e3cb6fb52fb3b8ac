"""Groups: the list with member counts, create / edit / delete, a group's members and leaders."""

from __future__ import annotations

from dataclasses import replace

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.decorators import ADMINS, STAFF, role_required
from app.deletion import ask_then_delete
from app.errors import AppError, Conflict
from app.extensions import db
from app.htmx import is_fragment_request
from app.models import Group, User
from app.people import bp
from app.people import groups as group_service
from app.people.forms import GroupForm
from app.people.queries import MAX_QUERY, MemberFilters
from app.people.routes import MAX_SELECTED, list_context, list_response
from app.people.services import list_members
from app.security.inputs import parse_id, parse_ids
from app.tenancy import get_group_or_404, get_or_404


@bp.get("/groups")
@role_required(*STAFF)
def groups():
    """Groups with how many members each has (leaders see the groups they lead)."""
    summaries = group_service.list_groups(current_user)
    return render_template("people/groups.html", summaries=summaries, can_manage=current_user.is_admin)


def _save_group(form: GroupForm, save) -> Group | None:
    try:
        group = save()
    except Conflict as err:
        db.session.rollback()
        form.name.errors = [*form.name.errors, err.message]
        return None
    db.session.commit()
    return group


@bp.route("/groups/new", methods=["GET", "POST"])
@role_required(*ADMINS)
def new_group():
    """Create a group."""
    form = GroupForm()
    if form.validate_on_submit():
        group = _save_group(
            form, lambda: group_service.create_group(current_user, form.name.data, form.description.data)
        )
        if group is not None:
            flash(f"Group “{group.name}” created.", "success")
            return redirect(url_for("people.group", group_id=group.id))
    status = 422 if request.method == "POST" else 200
    return render_template("people/group_form.html", form=form, group=None), status


def _group_page(group: Group, **extra):
    """The group page (or, for a scroll or search request, its member rows and results)."""
    filters = replace(MemberFilters.from_args(request.args), group_id=group.id)
    ctx = list_context("people.group", filters, fixed={"group_id": group.id})
    return list_response(
        "people/group.html",
        ctx,
        group=group,
        leaders=group_service.leaders_of(group),
        leader_choices=group_service.leader_candidates(group),
        member_count=group_service.member_count(group),
        can_text=current_user.can_compose,
        **extra,
    )


@bp.get("/groups/<int:group_id>")
@role_required(*STAFF)
def group(group_id: int):
    """A group: its members (the same list component as /members), leaders, and adding members."""
    group = get_group_or_404(group_id)
    group_service.require_open(current_user, group)
    return _group_page(group)


@bp.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
@role_required(*ADMINS)
def edit_group(group_id: int):
    """Rename a group or change its description."""
    group = get_group_or_404(group_id)
    form = GroupForm(obj=group)
    if form.validate_on_submit():
        saved = _save_group(
            form, lambda: group_service.update_group(current_user, group, form.name.data, form.description.data)
        )
        if saved is not None:
            flash("Group saved.", "success")
            return redirect(url_for("people.group", group_id=group.id))
    status = 422 if request.method == "POST" else 200
    return render_template("people/group_form.html", form=form, group=group), status


@bp.route("/groups/<int:group_id>/delete", methods=["GET", "POST"])
@role_required(*ADMINS)
def delete_group(group_id: int):
    """Ask, then delete a group (its members stay)."""
    group = get_group_or_404(group_id)
    return ask_then_delete(
        lambda: group_service.delete_group(current_user, group),
        message=f"Group “{group.name}” deleted. Its members are still in your member list.",
        done=url_for("people.groups"),
        template="people/group_delete.html",
        group=group,
        member_count=group_service.member_count(group),
    )


@bp.get("/groups/<int:group_id>/candidates")
@role_required(*ADMINS)
def group_candidates(group_id: int):
    """Members not in the group yet who match the "add members" search."""
    group = get_group_or_404(group_id)
    q = (request.args.get("q") or "").strip()[:MAX_QUERY]
    found = list_members(current_user, MemberFilters(q=q), not_in_group_id=group.id, with_total=False, limit=10)
    if is_fragment_request():
        return render_template("people/_group_candidates.html", group=group, candidates=found.rows, q=q)
    return _group_page(group, candidates=found.rows, q=q)


@bp.post("/groups/<int:group_id>/members")
@role_required(*ADMINS)
def add_group_members(group_id: int):
    """Add members picked from the search to the group."""
    group = get_group_or_404(group_id)
    ids = parse_ids(request.form.getlist("ids"), MAX_SELECTED)
    return _group_change(
        group,
        lambda: group_service.add_members(current_user, group, ids),
        lambda added: f"Added {added} member{'s' if added != 1 else ''} to {group.name}.",
    )


@bp.post("/groups/<int:group_id>/leaders")
@role_required(*ADMINS)
def add_group_leader(group_id: int):
    """Let a user with the leader role lead this group."""
    group = get_group_or_404(group_id)
    return _group_change(
        group,
        lambda: group_service.assign_leader(current_user, group, parse_id(request.form.get("user_id"))),
        lambda user: f"{user.display_name} now leads {group.name}.",
    )


def _group_change(group, change, success_message):
    """Apply a change to a group and go back to its page: refusals (other than 403) flash as errors."""
    try:
        result = change()
    except AppError as err:
        if err.status == 403:
            raise
        flash(err.message, "error")
        return redirect(url_for("people.group", group_id=group.id))
    db.session.commit()
    flash(success_message(result), "success")
    return redirect(url_for("people.group", group_id=group.id))


@bp.post("/groups/<int:group_id>/leaders/<int:user_id>/delete")
@role_required(*ADMINS)
def remove_group_leader(group_id: int, user_id: int):
    """Stop a user leading this group."""
    group = get_group_or_404(group_id)
    user = get_or_404(User, user_id)
    group_service.remove_leader(current_user, group, user)
    db.session.commit()
    flash(f"{user.display_name} no longer leads {group.name}.", "success")
    return redirect(url_for("people.group", group_id=group.id))
