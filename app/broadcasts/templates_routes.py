"""/templates: saved message bodies that the composer's picker inserts."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth.decorators import ADMINS, STAFF, role_required
from app.broadcasts import bp, template_undo
from app.broadcasts.forms import TemplateForm
from app.broadcasts.pages import can_compose
from app.deletion import flash_undo
from app.extensions import db
from app.htmx import render
from app.models import Template
from app.people.custom_fields import merge_fields
from app.tenancy import get_or_404, scoped


@bp.get("/templates")
@role_required(*STAFF)
def templates():
    """Saved message templates, by name."""
    rows = db.session.scalars(scoped(Template).order_by(Template.name, Template.id)).all()
    return render("templates/index.html", templates=rows, can_compose=can_compose(current_user))


@bp.route("/templates/new", methods=["GET", "POST"])
@role_required(*ADMINS)
def new_template():
    """Save a new template."""
    form = TemplateForm(custom_keys=merge_fields(current_user.church_id).keys)
    if form.validate_on_submit():
        if _name_taken(form.name.data):
            form.name.errors.append("A template with this name exists.")
        else:
            db.session.add(
                Template(
                    church_id=current_user.church_id,
                    name=form.name.data.strip(),
                    body=form.body.data,
                    created_by_id=current_user.id,
                )
            )
            db.session.commit()
            flash("Template saved.", "success")
            return redirect(url_for("broadcasts.templates"))
    status = 422 if form.is_submitted() else 200
    return render("templates/form.html", status=status, form=form, template=None)


@bp.route("/templates/<int:template_id>/edit", methods=["GET", "POST"])
@role_required(*ADMINS)
def edit_template(template_id: int):
    """Change a template's name or body."""
    template = get_or_404(Template, template_id)
    form = TemplateForm(obj=template, custom_keys=merge_fields(current_user.church_id).keys)
    if form.validate_on_submit():
        if _name_taken(form.name.data, template.id):
            form.name.errors.append("A template with this name exists.")
        else:
            template.name, template.body = form.name.data.strip(), form.body.data
            db.session.commit()
            flash("Template saved.", "success")
            return redirect(url_for("broadcasts.templates"))
    status = 422 if form.is_submitted() else 200
    return render("templates/form.html", status=status, form=form, template=template)


@bp.post("/templates/<int:template_id>/delete")
@role_required(*ADMINS)
def delete_template(template_id: int):
    """Delete a template (broadcasts that used it keep their text); the flash offers Undo."""
    template = get_or_404(Template, template_id)
    name = template.name
    token = template_undo.delete_with_undo(template)
    db.session.commit()
    flash_undo(f"Template “{name}” deleted.", url_for("broadcasts.restore_template"), token=token)
    return redirect(url_for("broadcasts.templates"))


@bp.post("/templates/restore")
@role_required(*ADMINS)
def restore_template():
    """Undo a template delete (the token from the flash's Undo button)."""
    template, problem = template_undo.restore(request.form.get("token", ""), current_user.church_id)
    if problem:
        flash(problem, "error")
    else:
        db.session.commit()
        flash(f"Template “{template.name}” restored.", "success")
    return redirect(url_for("broadcasts.templates"))


def _name_taken(name: str, except_id: int | None = None) -> bool:
    stmt = scoped(Template).where(Template.name == name.strip())
    if except_id:
        stmt = stmt.where(Template.id != except_id)
    return db.session.scalar(select(stmt.exists())) or False
