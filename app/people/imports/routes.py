"""CSV member import pages: upload, preview with column mapping, live progress, failed rows."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.decorators import ADMINS, role_required
from app.extensions import db
from app.htmx import render
from app.models import MemberImport
from app.people import bp, custom_fields
from app.people.imports import services
from app.people.imports.forms import MappingForm, UploadForm
from app.people.imports.parsing import FIELD_LABELS, MAX_UPLOAD_BYTES, ImportFileError
from app.tenancy import get_or_404

# The multipart envelope and the CSRF field around a 20 MB file.
UPLOAD_BODY_LIMIT = MAX_UPLOAD_BYTES + 64 * 1024


@bp.url_value_preprocessor
def _cap_upload_size(endpoint: str | None, values: dict | None) -> None:
    # Runs before any before_request hook (CSRF reads the form there), so the cap applies to
    # this route alone, whatever the app-wide MAX_CONTENT_LENGTH is.
    if endpoint == "people.member_import" and request.method == "POST":
        request.max_content_length = UPLOAD_BODY_LIMIT


@bp.route("/members/import", methods=["GET", "POST"])
@role_required(*ADMINS)
def member_import():
    """Upload a CSV file; a usable one becomes a draft import shown as a preview."""
    form = UploadForm()
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            abort(413)
        try:
            imp = services.create_draft(current_user.church, current_user.id, upload.filename or "", data)
        except ImportFileError as exc:
            form.file.errors.append(str(exc))
        else:
            db.session.commit()
            return redirect(url_for("people.import_detail", import_id=imp.id), code=303)
    if form.errors:
        status = 422
    imports = services.recent_imports(current_user.church_id)
    return render_template("people/import_upload.html", form=form, imports=imports), status


@bp.route("/members/import/<int:import_id>", methods=["GET", "POST"])
@role_required(*ADMINS)
def import_detail(import_id: int):
    """A draft shows the preview and mapping form (POST starts it); later, the progress and summary."""
    imp = get_or_404(MemberImport, import_id)
    if imp.status != "draft":
        if request.method == "POST":
            return redirect(url_for("people.import_detail", import_id=imp.id), code=303)
        context = {"imp": imp, "counts": services.live_counts(imp), "problems": services.problem_rows(imp)}
        return render_template("people/import_progress.html", **context)
    form = MappingForm(imp.headers, imp.mapping, custom_fields=custom_fields.church_fields(imp.church_id))
    if form.validate_on_submit():
        services.start(imp, form.chosen_mapping(), form.mode.data == "update")
        return redirect(url_for("people.import_detail", import_id=imp.id), code=303)
    rows = services.preview(imp)
    status = 422 if form.errors else 200
    check = services.check_preview(imp)
    flagged = {f["row"]: f for f in [*check.failures, *check.warnings]}
    context = {
        "imp": imp,
        "form": form,
        "rows": rows,
        "labels": FIELD_LABELS,
        "check": check,
        "flagged": flagged,
        "shown_problems": services.SHOWN_PROBLEMS,
    }
    return render_template("people/import_preview.html", **context), status


@bp.get("/members/import/<int:import_id>/progress")
@role_required(*ADMINS)
def import_progress(import_id: int):
    """The progress bar; it polls itself every second until the job has finished."""
    imp = get_or_404(MemberImport, import_id)
    context = {"imp": imp, "counts": services.live_counts(imp), "problems": services.problem_rows(imp)}
    return render("people/import_progress.html", "people/_import_progress.html", **context)


@bp.post("/members/import/<int:import_id>/retry")
@role_required(*ADMINS)
def import_retry(import_id: int):
    """Queue a failed import again; the job starts from the stored file."""
    imp = get_or_404(MemberImport, import_id)
    if imp.status == "failed":
        services.start(imp, imp.mapping, imp.update_existing)
        flash("The import was queued again.", "info")
    return redirect(url_for("people.import_detail", import_id=imp.id), code=303)


@bp.get("/members/import/<int:import_id>/failed.csv")
@role_required(*ADMINS)
def import_failures(import_id: int):
    """The rows that were not imported, with the reason on each, as a CSV download."""
    imp = get_or_404(MemberImport, import_id)
    if imp.status != "done":
        abort(404)
    body = services.failures_csv(imp)
    name = f"import-{imp.id}-failed-rows.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    return Response("\ufeff" + body, mimetype="text/csv", headers=headers)
