"""Members: the list (search, filters, keyset pages, bulk actions, export) and one member's pages."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.decorators import ADMINS, STAFF, role_required
from app.csv_export import busy_response, export_limit
from app.deletion import ask_then_delete
from app.errors import AppError, Conflict, ValidationError
from app.extensions import db
from app.htmx import is_fragment_request, render
from app.models import Branch, Group, Member
from app.people import bp, consent_export, custom_fields, services
from app.people.counts import count_members
from app.people.details import member_details
from app.people.export import ExportRunning, export_response
from app.people.forms import LANGUAGES, MemberForm, NoteForm
from app.people.groups import visible_groups
from app.people.phones import format_national
from app.people.queries import SORTS, MemberFilters
from app.replicas import replica_reads
from app.security.inputs import parse_id, parse_ids
from app.tenancy import get_member_or_404, scoped


def list_context(
    endpoint: str, filters: MemberFilters, *, fixed: dict | None = None, with_total: bool | None = None
) -> dict:
    """What the shared member list component (_member_list.html) needs, for /members or a group page.

    `fixed` are the endpoint's own URL arguments (a group page's group_id); the filters travel in
    the query string, so every link, page token and export keeps them.
    """
    fixed = fixed or {}
    after, before = request.args.get("after"), request.args.get("before")
    fragment = is_fragment_request()
    can_manage = current_user.is_admin
    # A fragment answering a search keystroke gets its count lazily; a full page counts inline.
    total_inline = (not fragment) if with_total is None else with_total
    listing = services.list_members(current_user, filters, after=after, before=before, with_total=total_inline)

    def list_url(target: str = endpoint, **changes) -> str:
        """This list's URL with `changes`; for another endpoint (count, export) the fixed group rides along."""
        page = {k: v for k in ("after", "before") if (v := changes.pop(k, None))}
        args = filters.as_args(**changes)
        if target == endpoint:
            if fixed.get("group_id"):
                args.pop("group", None)
            return url_for(target, **fixed, **args, **page)
        return url_for(target, **args, **page)

    return {
        "listing": listing,
        "filters": filters,
        "list_url": list_url,
        # The search form's own URL carries no filters: the form's fields are the filters.
        "list_base": url_for(endpoint, **fixed),
        "list_fixed_group": fixed.get("group_id"),
        "narrowed": bool(filters.q or filters.branch_id or filters.status or (filters.group_id and not fixed)),
        "sorts": SORTS,
        # The menus (filters, bulk bar) sit outside what a fragment swaps in: only a page loads them.
        "groups": visible_groups(current_user) if not fragment else [],
        "branches": db.session.scalars(scoped(Branch).order_by(Branch.name)).all() if not fragment else [],
        "can_manage": can_manage,
        "has_import": "people.member_import" in current_app.view_functions,
    }


@bp.get("/members")
@role_required(*STAFF)
@replica_reads
def members():
    """The member list: a page, the results of a search keystroke, or the next rows of the scroll."""
    filters = MemberFilters.from_args(request.args)
    ctx = list_context("people.members", filters)
    return list_response("people/members.html", ctx)


def list_response(page: str, ctx: dict, **extra):
    """The page, the search results or the next rows; a search pushes its clean URL (no empty fields)."""
    paging = request.args.get("after") or request.args.get("before")
    fragment = "people/_member_rows.html" if paging else "people/_member_results.html"
    body, status = render(page, fragment, **ctx, **extra)
    response = make_response(body, status)
    if is_fragment_request() and not paging:
        response.headers["HX-Push-Url"] = ctx["list_url"]()
    return response


@bp.get("/members/count")
@role_required(*STAFF)
@replica_reads
def member_count():
    """The list's total, loaded after the rows so a search keystroke never waits on the count."""
    filters = MemberFilters.from_args(request.args)
    total = count_members(current_user, filters)
    return render_template("people/_member_count.html", total=total, narrowed=filters.active)


def _member_form(member: Member | None = None, **kwargs) -> MemberForm:
    groups = db.session.scalars(scoped(Group).order_by(Group.name)).all()
    branches = db.session.scalars(scoped(Branch).order_by(Branch.name)).all()
    fields = custom_fields.church_fields(current_user.church_id)
    return MemberForm(
        church=current_user.church, member=member, groups=groups, branches=branches, custom_fields=fields, **kwargs
    )


def _save_member(form: MemberForm, save: Callable[[], Member]) -> Member | None:
    """Run the save; a phone taken meanwhile (the race the form check cannot see) becomes a field error."""
    try:
        member = save()
    except Conflict as err:
        db.session.rollback()
        form.phone.errors = [*form.phone.errors, err.message]
        return None
    db.session.commit()
    return member


@bp.route("/members/new", methods=["GET", "POST"])
@role_required(*ADMINS)
def new_member():
    """Add a member by hand (admins); the consent ledger records that staff added them."""
    form = _member_form()
    if form.validate_on_submit():
        member = _save_member(form, lambda: services.create_member(current_user, form.to_input()))
        if member is not None:
            flash(f"{member.full_name} was added.", "success")
            return redirect(url_for("people.member", member_id=member.id))
    status = 422 if request.method == "POST" else 200
    return render_template("people/member_form.html", form=form, member=None), status


@bp.post("/members/validate-phone")
@bp.post("/members/<int:member_id>/validate-phone")
@role_required(*ADMINS)
def validate_phone(member_id: int | None = None):
    """The phone field alone, checked by the same form class the submit uses (HTMX, as you type)."""
    member = get_member_or_404(member_id) if member_id else None
    form = _member_form(member)
    valid = form.validate_field("phone")
    return render_template("people/_phone_field.html", form=form, member=member), 200 if valid else 422


@bp.get("/members/<int:member_id>")
@role_required(*STAFF)
def member(member_id: int):
    """One member: details, groups, consent history, conversation and recent broadcasts."""
    member = get_member_or_404(member_id)
    services.require_visible(current_user, member)
    return _member_page(member, NoteForm())


@bp.route("/members/<int:member_id>/edit", methods=["GET", "POST"])
@role_required(*ADMINS)
def edit_member(member_id: int):
    """Edit a member (admins). Opting back in is not here: only the member can, by texting START."""
    member = get_member_or_404(member_id)
    form = _member_form(member, obj=member)
    if request.method == "GET":
        form.phone.data = format_national(member.phone_e164)
        form.branch_id.data = member.branch_id or 0
        form.group_ids.data = [g.id for g in member_details(member).groups]
    if form.validate_on_submit():
        saved = _save_member(form, lambda: services.update_member(current_user, member, form.to_input()))
        if saved is not None:
            flash("Changes saved.", "success")
            return redirect(url_for("people.member", member_id=member.id))
    status = 422 if request.method == "POST" else 200
    return render_template("people/member_form.html", form=form, member=member), status


@bp.route("/members/<int:member_id>/delete", methods=["GET", "POST"])
@role_required(*ADMINS)
def delete_member(member_id: int):
    """Ask, then delete a member (admins)."""
    member = get_member_or_404(member_id)
    return ask_then_delete(
        lambda: services.delete_member(current_user, member),
        message=f"{member.full_name} was deleted.",
        done=url_for("people.members"),
        template="people/member_delete.html",
        member=member,
    )


@bp.post("/members/<int:member_id>/notes")
@role_required(*STAFF)
def add_note(member_id: int):
    """Append a note to a member (leaders may do this for the members of their groups)."""
    member = get_member_or_404(member_id)
    services.require_visible(current_user, member)
    form = NoteForm()
    if form.validate_on_submit():
        services.add_note(current_user, member, form.body.data)
        db.session.commit()
        flash("Note added.", "success")
        return redirect(url_for("people.member", member_id=member.id) + "#notes")
    return _member_page(member, form, status=422)


def _member_page(member: Member, note_form: NoteForm, status: int = 200):
    details = member_details(member)
    can_manage = current_user.is_admin
    context = {"details": details, "member": member, "note_form": note_form, "languages": dict(LANGUAGES)}
    context["custom"] = [
        (spec, custom_fields.display(value))
        for spec, value in custom_fields.labelled_values(member.church_id, member.id)
    ]
    return render_template("people/member.html", can_manage=can_manage, **context), status


# --- bulk actions and export --------------------------------------------------------------------


def _safe_next(default: str) -> str:
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return default


# Far more than a page of members; a bulk action on everyone goes by the filter, not by ids.
MAX_SELECTED = 10_000


def _selected_ids() -> list[int]:
    return parse_ids(request.form.getlist("ids"), MAX_SELECTED)


@bp.post("/members/bulk")
@role_required(*ADMINS)
def bulk():
    """Add the selected members to a group, remove them from one, or delete them (after a confirmation)."""
    back = _safe_next(url_for("people.members"))
    action, ids = request.form.get("action", ""), _selected_ids()
    group_id = parse_id(request.form.get("group_id"))
    # "Every member in this list": the list's own filters, applied again here, never a list of ids.
    matching = MemberFilters.from_args(request.form) if request.form.get("scope") == "matching" else None
    try:
        if action == "add_to_group":
            group, count = services.bulk_add_to_group(current_user, ids, group_id, matching)
            message = f"Added {count} member{'s' if count != 1 else ''} to {group.name}."
        elif action == "remove_from_group":
            group, count = services.bulk_remove_from_group(current_user, ids, group_id, matching)
            message = f"Removed {count} member{'s' if count != 1 else ''} from {group.name}."
        elif action == "delete" and request.form.get("confirm") != "yes":
            total, shown = services.members_to_delete(current_user, ids, matching)
            context = {"total": total, "members": shown, "back": back, "matching": matching}
            return render_template("people/bulk_delete.html", ids=ids, **context)
        elif action == "delete":
            count = services.bulk_delete(current_user, ids, matching)
            message = f"Deleted {count} member{'s' if count != 1 else ''}."
        else:
            raise ValidationError("Choose what to do with the selected members.")
    except AppError as err:
        if err.status == 403:
            raise
        db.session.rollback()
        flash(err.message, "error")
        return redirect(back)
    db.session.commit()
    flash(message, "success")
    return redirect(back)


@bp.get("/members/export.csv")
@role_required(*ADMINS)
@replica_reads
def export():
    """The current list (search and filters applied) as a CSV file, streamed row by row."""
    try:
        return export_response(current_user, MemberFilters.from_args(request.args))
    except ExportRunning as err:
        return busy_response(err)


@bp.get("/members/consent.csv")
@export_limit
@role_required(*ADMINS)
@replica_reads
def export_consent():
    """The church's consent ledger (every opt-in and opt-out, whole numbers) for a carrier audit."""
    try:
        return consent_export.export_response(current_user)
    except ExportRunning as err:
        return busy_response(err)
