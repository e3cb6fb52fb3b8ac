"""/account/notifications: when to be mailed about unread texts, and push to this device."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from app.auth.decorators import STAFF, role_required
from app.extensions import db
from app.notifications import bp, services
from app.notifications.forms import PreferencesForm


@bp.route("/account/notifications", methods=["GET", "POST"])
@role_required(*STAFF)
def preferences():
    """The signed-in user's notification choices."""
    form = PreferencesForm()
    if not form.is_submitted():
        form.fill_from(services.preferences_of(current_user.id))
    elif form.validate():
        services.save_preferences(current_user, form.preferences())
        db.session.commit()
        flash("Notification settings saved.", "success")
        return redirect(url_for("notifications.preferences"))
    return render_template(
        "notifications/preferences.html",
        form=form,
    ), (422 if form.errors else 200)
