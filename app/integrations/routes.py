"""Settings → Integrations (owners and admins): connect Planning Center, map lists, sync, disconnect."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.decorators import ADMINS, role_required
from app.errors import ValidationError
from app.extensions import db, limiter
from app.htmx import is_fragment_request
from app.integrations import bp, services
from app.integrations.forms import ConnectForm, ListsForm

MAX_LISTS = 500  # lists on one form; more is not a church's list page


def _page(connect_form: ConnectForm | None = None, list_errors: dict | None = None, status: int = 200):
    church_id = current_user.church_id
    connection = services.connection_of(church_id)
    context = {
        "connection": connection,
        "connect_form": connect_form or ConnectForm(formdata=None),
        "lists_form": ListsForm(formdata=None),
        "lists": services.list_choices(church_id) if connection else [],
        "groups": services.group_options(church_id) if connection else [],
        "list_errors": list_errors or {},
        "posted": request.form if list_errors else None,
        "sync": services.latest_sync(church_id) if connection else None,
        "new_group": services.NEW_GROUP,
    }
    return render_template("integrations/page.html", **context), status


@bp.get("/settings/integrations")
@role_required(*ADMINS)
def index():
    """Planning Center: the connect form, or the lists, the sync and its last report."""
    return _page()


@bp.post("/settings/integrations/planning-center/connect")
@role_required(*ADMINS)
@limiter.limit("10 per hour", key_func=lambda: f"pco-connect:{current_user.church_id}")
def connect():
    """Check the personal access token with Planning Center and keep it (sealed)."""
    form = ConnectForm()
    if form.validate_on_submit():
        try:
            services.connect(current_user, form.app_id.data.strip(), form.secret.data.strip(), form.consent.data)
        except ValidationError as err:
            for name, messages in err.details.items():
                getattr(form, name).errors = list(messages)
        else:
            db.session.commit()
            flash("Planning Center is connected. Choose which lists become groups, then sync.", "success")
            return redirect(url_for("integrations.index"), code=303)
    # The secret is never sent back into the page, even after a failed attempt.
    form.secret.data = ""
    return _page(connect_form=form, status=422)


@bp.post("/settings/integrations/planning-center/lists")
@role_required(*ADMINS)
def save_lists():
    """Which Planning Center lists fill which groups (or new groups named after them)."""
    # CSRFProtect has checked the token; the choices are selects named after the church's lists.
    choices = {}
    for key, value in list(request.form.items())[: MAX_LISTS + 1]:
        if key.startswith("list-") and len(key) <= 40 and len(value) <= 20:
            choices[key[5:]] = value
    try:
        synced = services.save_lists(current_user, choices)
    except ValidationError as err:
        db.session.rollback()
        return _page(list_errors=err.details, status=422)
    db.session.commit()
    flash(f"Saved: {synced} list{'' if synced == 1 else 's'} will fill groups on the next sync.", "success")
    return redirect(url_for("integrations.index"), code=303)


@bp.post("/settings/integrations/planning-center/sync")
@role_required(*ADMINS)
@limiter.limit("30 per hour", key_func=lambda: f"pco-sync:{current_user.church_id}")
def sync_now():
    """Queue a sync now (one at a time per church): the progress bar shows it."""
    try:
        run, new = services.start_sync(current_user.church_id, "manual", current_user)
    except ValidationError as err:
        flash(err.message, "error")
        return redirect(url_for("integrations.index"), code=303)
    db.session.commit()
    if is_fragment_request():
        return render_template("integrations/_sync.html", sync=run)
    flash("Sync started." if new else "A sync is already running.", "info")
    return redirect(url_for("integrations.index"), code=303)


@bp.get("/settings/integrations/planning-center/sync")
@role_required(*ADMINS)
def sync_progress():
    """The progress bar and last report; it polls itself every second while a sync runs."""
    if not is_fragment_request():
        return _page()
    return render_template("integrations/_sync.html", sync=services.latest_sync(current_user.church_id))


@bp.post("/settings/integrations/planning-center/disconnect")
@role_required(*ADMINS)
def disconnect():
    """Forget the token; members and groups made by syncing stay."""
    if services.disconnect(current_user):
        db.session.commit()
        flash("Planning Center is disconnected. Members and groups it made are still here.", "success")
    return redirect(url_for("integrations.index"), code=303)
