"""`/inbox/new`: text a member who has not written (or has), from the inbox or the member page."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_login import current_user

from app.auth.decorators import STAFF, role_required
from app.delivery.segments import PRICE_PER_MMS, analyze
from app.errors import PermissionDenied, ValidationError
from app.extensions import db
from app.htmx import render
from app.inbox import bp, new_text
from app.inbox.forms import NewTextForm
from app.inbox.services import MAX_BODY, attachments, opt_out_reason
from app.models import Member
from app.people.queries import MAX_QUERY
from app.people.services import can_see_member
from app.security.inputs import parse_id
from app.tenancy import get_or_404


@bp.route("/inbox/new", methods=["GET", "POST"])
@role_required(*STAFF)
def new_text_page():
    """Pick a member (search by name or number), write, send: then the conversation opens."""
    form = NewTextForm()
    member = None
    member_id = parse_id(request.values.get("member_id"))
    if member_id is not None:
        member = get_or_404(Member, member_id)
        if not can_see_member(current_user, member):
            abort(404)
    q = (request.args.get("q") or "").strip()[:MAX_QUERY]
    matches = new_text.candidates(current_user, q) if member is None and len(q) >= 2 else []
    status, error = 200, None
    if request.method == "POST":
        if member is None:
            status, error = 422, "Choose who to text."
        elif not form.validate_on_submit():
            status = 422
        else:
            try:
                attached = attachments(member.church_id, form.picture.data, form.media_url.data)
                message = new_text.start(current_user, member, form.body.data, attached)
            except (ValidationError, PermissionDenied) as err:
                db.session.rollback()
                status, error = 422, err.message
            else:
                db.session.commit()
                return redirect(url_for("inbox.conversation", conversation_id=message.conversation_id), 303)
    context = {
        "form": form,
        "member": member,
        "blocked": opt_out_reason(member) if member is not None else None,
        "q": q,
        "matches": matches,
        "error": error,
        "max_body": MAX_BODY,
        "info": analyze(form.body.data or ""),
        "mms": form.has_picture(),
        "mms_price": PRICE_PER_MMS,
    }
    return render("inbox/new.html", status=status, **context)
