"""Broadcast control from its page: edit it until it starts, pause, resume, resend to the failed, export."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from app.auth.decorators import STAFF, role_required
from app.broadcasts import bp, control, export, history, pages
from app.broadcasts.composer import normalise_newlines
from app.broadcasts.routes import composer_form
from app.csv_export import ExportRunning, busy_response, export_limit
from app.errors import AppError, Conflict
from app.extensions import db
from app.htmx import render
from app.replicas import replica_reads


def _managed(broadcast_id: int):
    broadcast = history.visible_broadcast_or_404(current_user, broadcast_id)
    pages.require_sender(current_user, broadcast)
    return broadcast


def _refused(err: AppError, broadcast_id: int):
    db.session.rollback()
    flash(err.message, "error")
    return redirect(url_for("broadcasts.show", broadcast_id=broadcast_id))


def _act(broadcast_id: int, action, done: str):
    broadcast = _managed(broadcast_id)
    try:
        action(broadcast, current_user)
    except AppError as err:
        return _refused(err, broadcast_id)
    flash(done, "success")
    return redirect(url_for("broadcasts.show", broadcast_id=broadcast_id))


@bp.post("/broadcasts/<int:broadcast_id>/pause")
@role_required(*STAFF)
def pause(broadcast_id: int):
    """Hold a sending broadcast: workers stop at their next claim; texts already on their way finish."""
    return _act(broadcast_id, control.pause, "Broadcast paused. Nobody else gets it until you resume.")


@bp.post("/broadcasts/<int:broadcast_id>/resume")
@role_required(*STAFF)
def resume(broadcast_id: int):
    """Carry on with a paused broadcast, from the people it had not reached."""
    return _act(broadcast_id, control.resume, "Broadcast resumed.")


@bp.route("/broadcasts/<int:broadcast_id>/edit", methods=["GET", "POST"])
@role_required(*STAFF)
def edit(broadcast_id: int):
    """Change a scheduled broadcast's text, audience and time with the composer, until it starts."""
    broadcast = _managed(broadcast_id)
    pages.require_composer(current_user)
    back = url_for("broadcasts.show", broadcast_id=broadcast.id)
    if broadcast.status != "scheduled":
        flash(control.STARTED, "error")
        return redirect(back)
    form = composer_form()
    # A one-off stays a one-off: "Repeat" is a new repeating broadcast, made from the composer.
    form.when.choices = [("now", "Send now"), ("later", "Schedule")]
    church = current_user.church
    if request.method == "GET":
        pages.fill_from(form, broadcast, church.timezone)
        return render("broadcasts/new.html", **pages.composer_context(form, current_user, editing=broadcast))
    if not pages.validate(form, current_user):
        return render(
            "broadcasts/new.html", status=422, **pages.composer_context(form, current_user, editing=broadcast)
        )
    try:
        control.edit_scheduled(
            broadcast,
            current_user,
            title=form.title.data,
            body=normalise_newlines(form.body.data or ""),
            media_urls=form.media_list(),
            spec=pages.spec_for(form, current_user),
            scheduled_at=form.scheduled_at(church.timezone),
            track_links=bool(form.track_links.data),
        )
    except Conflict as err:
        return _refused(err, broadcast.id)
    except AppError as err:
        db.session.rollback()
        context = pages.composer_context(form, current_user, editing=broadcast, refusal=err.message)
        return render("broadcasts/new.html", status=422, **context)
    flash("Broadcast updated.", "success")
    return redirect(back)


@bp.post("/broadcasts/<int:broadcast_id>/resend-failed")
@role_required(*STAFF)
def resend_failed(broadcast_id: int):
    """A new broadcast of the same text to those whose text failed for a reason worth another try."""
    broadcast = _managed(broadcast_id)
    try:
        again = control.resend_failed(broadcast, current_user)
    except AppError as err:
        return _refused(err, broadcast_id)
    flash(f"Sent again to {again.recipient_count} {'person' if again.recipient_count == 1 else 'people'}.", "success")
    return redirect(url_for("broadcasts.show", broadcast_id=again.id))


@bp.get("/broadcasts/<int:broadcast_id>/recipients.csv")
@export_limit
@role_required(*STAFF)
@replica_reads
def export_recipients(broadcast_id: int):
    """The recipients the user may see, with status and the reason a text failed, as CSV."""
    broadcast = history.visible_broadcast_or_404(current_user, broadcast_id)
    try:
        return export.export_response(current_user, broadcast)
    except ExportRunning as err:
        return busy_response(err)
