"""The failed-texts page and its retry buttons."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from app.auth.decorators import STAFF, role_required
from app.errors import PermissionDenied, ValidationError
from app.extensions import db
from app.failures import bp, services
from app.htmx import render
from app.models import Broadcast


@bp.get("/failures")
@role_required(*STAFF)
def index():
    """Every failed text the user may see, newest first, with the reason and a retry where it helps."""
    page = services.failure_page(current_user, request.args.get("before", "")[:80])
    return render("failures/page.html", "failures/_rows.html", failures=page)


@bp.post("/failures/recipients/<int:recipient_id>/retry")
@role_required(*STAFF)
def retry_recipient(recipient_id: int):
    """Send a failed broadcast text again, to that one person."""
    return _retry("broadcast", recipient_id)


@bp.post("/failures/replies/<int:message_id>/retry")
@role_required(*STAFF)
def retry_reply(message_id: int):
    """Send a failed inbox reply again."""
    return _retry("reply", message_id)


def _retry(kind: str, row_id: int):
    try:
        sent = services.retry(current_user, kind, row_id)
    except (ValidationError, PermissionDenied) as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("failures.index"))
    db.session.commit()
    if isinstance(sent, Broadcast):
        flash("Sent again as a broadcast to this one person.", "success")
    else:
        flash("Reply sent again.", "success")
    return redirect(url_for("failures.index"))
