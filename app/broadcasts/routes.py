"""Broadcast pages: the list, one broadcast's progress, the composer and its confirmation step."""

from __future__ import annotations

import uuid

from flask import abort, current_app, flash, make_response, redirect, request, url_for
from flask_login import current_user

from app import merge
from app.auth.decorators import STAFF, role_required
from app.broadcasts import bp, history, pages, test_send
from app.broadcasts.composer import normalise_newlines
from app.broadcasts.forms import ComposerForm
from app.broadcasts.schedules import delete_schedule as remove
from app.broadcasts.schedules import set_enabled
from app.broadcasts.services import cancel_broadcast
from app.deletion import ask_then_delete
from app.delivery.errors import describe
from app.delivery.segments import replace_smart_characters
from app.errors import AppError
from app.extensions import db, limiter, user_rate_key
from app.htmx import render, trigger
from app.models import Schedule, Template
from app.people.queries import MAX_QUERY
from app.people.templating import member_phone, member_time
from app.security.inputs import parse_id
from app.tenancy import get_or_404

# Broadcast pages show stored times in the church's timezone with the people pages' filter.
bp.add_app_template_filter(member_time, "church_time")
# A failed recipient's error code in plain words.
bp.add_app_template_filter(describe, "failure_reason")


@bp.app_template_filter()
def broadcast_label(row) -> str:
    """A broadcast's (or schedule's) name in lists: its title, or its first words with readable placeholders."""
    get = row.get if isinstance(row, dict) else lambda key: getattr(row, key, None)
    church = current_user.church.name if current_user.is_authenticated else None
    return merge.label(get("title"), get("body") or "", church)


# The composer's live checks run a query or two per keystroke: a generous limit per user (not per
# address, which a whole church may share) keeps a script from running them flat out.
composer_limit = limiter.limit(
    lambda: current_app.config["COMPOSER_RATE_LIMIT"], key_func=user_rate_key, per_method=False
)


@bp.get("/broadcasts")
@role_required(*STAFF)
def index():
    """Broadcasts, newest first (keyset paged), and the repeating schedules."""
    if request.args.get("status") == "failed":
        # Old links to "failed broadcasts" lead to the page of failed texts.
        return redirect(url_for("failures.index"), 301)
    before = parse_id(request.args.get("before"))
    listing = history.broadcast_page(current_user, before)
    schedules = [] if before else history.schedules(current_user)
    return render(
        "broadcasts/index.html",
        "broadcasts/_rows.html",
        listing=listing,
        schedules=schedules,
        can_compose=pages.can_compose(current_user),
    )


@bp.get("/broadcasts/<int:broadcast_id>")
@role_required(*STAFF)
def show(broadcast_id: int):
    """One broadcast: live progress, counts by status, failures and replies (a leader's groups' only)."""
    broadcast = history.visible_broadcast_or_404(current_user, broadcast_id)
    return render("broadcasts/show.html", **history.detail(broadcast, current_user))


@bp.get("/broadcasts/<int:broadcast_id>/progress")
@role_required(*STAFF)
def progress(broadcast_id: int):
    """The progress partial the detail page polls; it stops polling itself once done."""
    broadcast = history.visible_broadcast_or_404(current_user, broadcast_id)
    context = history.detail(broadcast, current_user)
    return render("broadcasts/show.html", "broadcasts/_progress.html", oob=True, **context)


@bp.route("/broadcasts/<int:broadcast_id>/cancel", methods=["GET", "POST"])
@role_required(*STAFF)
def cancel(broadcast_id: int):
    """Ask first (it cannot be undone), then stop a scheduled or sending broadcast: unsent recipients are skipped."""
    broadcast = history.visible_broadcast_or_404(current_user, broadcast_id)
    pages.require_sender(current_user, broadcast)
    back = url_for("broadcasts.show", broadcast_id=broadcast.id)
    if broadcast.status not in ("scheduled", "sending", "paused", "draft"):
        return redirect(back)
    return ask_then_delete(
        lambda: cancel_broadcast(broadcast, current_user),
        message="Broadcast cancelled: nobody else will receive it.",
        done=back,
        template="broadcasts/cancel.html",
        **history.detail(broadcast, current_user),
    )


# ---- composer -------------------------------------------------------------------------------


def composer_form() -> ComposerForm:
    """The composer's form (posted values, if any) with the groups and branches this user may pick."""
    form = ComposerForm()
    pages.set_choices(form, current_user)
    return form


@bp.route("/broadcasts/new", methods=["GET", "POST"])
@role_required(*STAFF)
def new():
    """The composer. A POST re-renders it with the posted values (the "Edit" button of the confirmation)."""
    pages.require_composer(current_user)
    form = composer_form()
    if request.method == "GET":
        form.idempotency_key.data = uuid.uuid4().hex
        template_id = parse_id(request.args.get("template_id"))
        if template_id:
            form.body.data = get_or_404(Template, template_id).body
        # "Text this group": only a group this person may pick (set_choices is already scoped).
        group_id = parse_id(request.args.get("group_id"))
        if group_id in {gid for gid, _ in form.group_ids.choices}:
            form.group_ids.data = [group_id]
        return render("broadcasts/new.html", **pages.composer_context(form, current_user))
    if not form.idempotency_key.data:
        form.idempotency_key.data = uuid.uuid4().hex
    status = 200 if form.check_bounds() else 422
    return render("broadcasts/new.html", status=status, **pages.composer_context(form, current_user))


@bp.post("/broadcasts/new/counter")
@composer_limit
@role_required(*STAFF)
def counter():
    """The live counter, cost, allowance, checks and preview for what is typed so far."""
    pages.require_composer(current_user)
    form = composer_form()
    return render("broadcasts/new.html", "broadcasts/_counter.html", **pages.composer_context(form, current_user))


@bp.post("/broadcasts/new/audience")
@composer_limit
@role_required(*STAFF)
def audience():
    """The live audience count; tells the counter to refresh (cost depends on the audience)."""
    pages.require_composer(current_user)
    form = composer_form()
    body, status = render(
        "broadcasts/new.html", "broadcasts/_audience_count.html", **pages.composer_context(form, current_user)
    )
    response = make_response(body, status)
    return trigger(response, ["audience-changed"])


@bp.post("/broadcasts/new/when")
@composer_limit
@role_required(*STAFF)
def when():
    """The timing re-checked as it changes, so "that time has passed" goes once it is fixed."""
    pages.require_composer(current_user)
    form = composer_form()
    status = 200
    if form.check_bounds():
        form.check_timing(current_user.church.timezone, live=True)
    else:
        status = 422
    timing = (form.send_date, form.send_time, form.until, form.weekdays, form.month_day)
    context = pages.composer_context(form, current_user, when_errors=[e for f in timing for e in f.errors])
    body, status = render("broadcasts/new.html", "broadcasts/_when_check.html", status=status, **context)
    # The counter follows (cost and quiet hours depend on when it goes).
    return trigger(make_response(body, status), ["when-changed"])


@bp.post("/broadcasts/new/test")
@limiter.limit(lambda: current_app.config["TEST_SEND_RATE_LIMIT"], key_func=user_rate_key)
@composer_limit
@role_required(*STAFF)
def send_test():
    """Text the draft once to the signed-in person's own phone; the composer comes back as it was."""
    pages.require_composer(current_user)
    form = composer_form()
    status, notice, problem = 200, None, None
    if not form.check_bounds():
        status = 422
    else:
        try:
            to = test_send.queue_test(current_user, normalise_newlines(form.body.data or ""), form.media_list())
        except AppError as exc:
            status, problem = 422, exc.message
        else:
            db.session.commit()
            notice = f"Test sent to {member_phone(to)}. It counts toward this month's segments."
    context = pages.composer_context(form, current_user, test_notice=notice, test_problem=problem)
    return render("broadcasts/new.html", status=status, **context)


@bp.post("/broadcasts/new/smart-quotes")
@composer_limit
@role_required(*STAFF)
def smart_quotes():
    """Replace curly quotes, dashes and ellipses with GSM-7 look-alikes, keeping everything else."""
    pages.require_composer(current_user)
    form = composer_form()
    status = 200
    if form.check_bounds():
        form.body.data = replace_smart_characters(form.body.data or "")
    else:
        status = 422
    context = pages.composer_context(form, current_user)
    body, status = render("broadcasts/new.html", "broadcasts/_body.html", status=status, **context)
    response = make_response(body, status)
    # After the swap, so the counter (listening for body-changed) posts the new text, not the old.
    response.headers["HX-Trigger-After-Swap"] = "body-changed"
    return response


@bp.get("/broadcasts/new/members")
@composer_limit
@role_required(*STAFF)
def member_search():
    """Members matching a name or number, as chips to add to the audience."""
    pages.require_composer(current_user)
    if not current_user.is_admin:
        abort(403)
    q = request.args.get("q", "").strip()[:MAX_QUERY]
    members = pages.search_members(current_user.church_id, q) if len(q) >= 2 else []
    return render("broadcasts/_member_results.html", "broadcasts/_member_results.html", members=members, q=q)


@bp.post("/broadcasts/confirm")
@composer_limit
@role_required(*STAFF)
def confirm():
    """Validate the draft and show who gets it, segments, cost and warnings before it goes."""
    pages.require_composer(current_user)
    form = composer_form()
    if not pages.validate(form, current_user):
        return render("broadcasts/new.html", status=422, **pages.composer_context(form, current_user))
    return render("broadcasts/confirm.html", **pages.confirm_context(form, current_user))


@bp.post("/broadcasts")
@role_required(*STAFF)
def create():
    """Send, schedule or set up a repeat. The idempotency key makes a double submit harmless."""
    pages.require_composer(current_user)
    form = composer_form()
    if not pages.validate(form, current_user):
        return render("broadcasts/new.html", status=422, **pages.composer_context(form, current_user))
    try:
        result = pages.submit(form, current_user)
    except AppError as exc:
        db.session.rollback()
        context = pages.confirm_context(form, current_user)
        return render("broadcasts/confirm.html", status=422, refusal=exc.message, **context)
    if isinstance(result, Schedule):
        flash("Repeating broadcast saved. Each run appears in the list when it goes out.", "success")
        return redirect(url_for("broadcasts.index"))
    flash("Broadcast scheduled." if result.status == "scheduled" else "Broadcast on its way.", "success")
    return redirect(url_for("broadcasts.show", broadcast_id=result.id))


# ---- repeating schedules --------------------------------------------------------------------


@bp.post("/broadcasts/schedules/<int:schedule_id>/pause")
@role_required(*STAFF)
def pause_schedule(schedule_id: int):
    """Pause a repeating broadcast, or resume it (runs missed while paused are skipped)."""
    schedule = get_or_404(Schedule, schedule_id)
    pages.require_sender(current_user, schedule)
    set_enabled(schedule, not schedule.enabled)
    flash("Repeating broadcast resumed." if schedule.enabled else "Repeating broadcast paused.", "success")
    return redirect(url_for("broadcasts.index"))


@bp.post("/broadcasts/schedules/<int:schedule_id>/delete")
@role_required(*STAFF)
def delete_schedule(schedule_id: int):
    """Delete a repeating broadcast; the broadcasts it already sent stay listed."""
    schedule = get_or_404(Schedule, schedule_id)
    pages.require_sender(current_user, schedule)
    remove(schedule)
    flash("Repeating broadcast deleted.", "success")
    return redirect(url_for("broadcasts.index"))
