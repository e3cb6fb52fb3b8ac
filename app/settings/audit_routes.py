"""/settings/audit: who did what in the church, for its owners and admins."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, request, stream_with_context
from flask_login import current_user

from app import audit
from app.auth.decorators import ADMINS, role_required
from app.extensions import db, limiter, user_rate_key
from app.htmx import render
from app.security import csvfiles
from app.settings import bp
from app.settings.audit_log import ACTIONS, AuditFilters, audit_page, export_rows, parse_cursor, staff


@bp.get("/settings/audit")
@role_required(*ADMINS)
def audit_log():
    """The audit log, newest first; ?person= and ?action= filter it, ?after= pages it."""
    filters = AuditFilters.from_args(request.args)
    rows, next_after = audit_page(current_user.church_id, filters, parse_cursor(request.args.get("after")))
    return render(
        "settings/audit.html",
        "settings/_audit_rows.html",
        rows=rows,
        next_after=next_after,
        filters=filters,
        people=staff(current_user.church_id),
        actions=ACTIONS,
    )


@bp.get("/settings/audit/export.csv")
@limiter.limit("10 per minute", key_func=user_rate_key)  # each file reads the whole log
@role_required(*ADMINS)
def audit_export():
    """The filtered audit log as a CSV file, streamed a batch at a time."""
    filters = AuditFilters.from_args(request.args)
    church_id = current_user.church_id
    audit.record("audit.exported", detail={"filters": filters.as_args()})
    db.session.commit()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    body = stream_with_context(csvfiles.chunks(export_rows(church_id, filters)))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{current_user.church.slug}-{stamp}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
