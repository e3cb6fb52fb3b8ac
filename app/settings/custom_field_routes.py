"""Settings → Member fields: the custom fields a church keeps about its members (owners and admins)."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.decorators import ADMINS, role_required
from app.deletion import ask_then_delete
from app.extensions import db
from app.models import CustomField
from app.people import custom_fields as cf
from app.people import field_definitions as defs
from app.settings import bp
from app.settings.custom_field_forms import CustomFieldForm
from app.tenancy import get_or_404


@bp.get("/settings/fields")
@role_required(*ADMINS)
def custom_fields():
    """The church's member fields."""
    return render_template(
        "settings/custom_fields.html",
        fields=cf.church_fields(current_user.church_id),
        types=cf.TYPE_LABELS,
        max_fields=cf.MAX_FIELDS,
    )


def _form_page(form: CustomFieldForm, row: CustomField | None, save: Callable[[], CustomField], saved: str):
    """Save a valid form and go back to the list; otherwise the form again, errors by field (422)."""
    if form.validate_on_submit():
        done = save()
        db.session.commit()
        flash(saved.format(name=done.name, key=done.key), "success")
        return redirect(url_for("settings.custom_fields"))
    status = 422 if request.method == "POST" else 200
    return render_template("settings/custom_field_form.html", form=form, field=row), status


@bp.route("/settings/fields/new", methods=["GET", "POST"])
@role_required(*ADMINS)
def new_custom_field():
    """Define a field: name, key (stable), type and, for a choice, its options."""
    form = CustomFieldForm(church_id=current_user.church_id)
    return _form_page(
        form,
        None,
        lambda: defs.define(
            current_user, name=form.name.data, key=form.clean_key, type=form.type.data, choices=form.clean_choices
        ),
        "Field “{name}” added: use {{{key}}} in messages.",
    )


@bp.route("/settings/fields/<int:field_id>/edit", methods=["GET", "POST"])
@role_required(*ADMINS)
def edit_custom_field(field_id: int):
    """Rename a field or change a choice field's options; the key and type stay."""
    row = get_or_404(CustomField, field_id)
    form = CustomFieldForm(church_id=current_user.church_id, existing=row)
    if request.method == "GET":
        form.name.data = row.name
        form.choices.data = "\n".join(row.choices or [])
    return _form_page(
        form,
        row,
        lambda: defs.change(current_user, row, name=form.name.data, choices=form.clean_choices),
        "Field “{name}” saved.",
    )


@bp.route("/settings/fields/<int:field_id>/delete", methods=["GET", "POST"])
@role_required(*ADMINS)
def delete_custom_field(field_id: int):
    """Ask, then delete a field with every member's value for it."""
    row = get_or_404(CustomField, field_id)
    count = defs.values_count(row.id)
    return ask_then_delete(
        lambda: defs.remove(current_user, row),
        message=f"Field “{row.name}” deleted.",
        done=url_for("settings.custom_fields"),
        template="settings/confirm_delete.html",
        what=f"the field “{row.name}”",
        note=(
            f"{count:,} member{'s' if count != 1 else ''} have a value for it; those values go too. "
            f"Audiences narrowed by it will match nobody, and messages not yet sent that use {{{row.key}}} "
            "would show it as typed: change those first."
        ),
        action=url_for("settings.delete_custom_field", field_id=row.id),
        back=url_for("settings.custom_fields"),
    )
