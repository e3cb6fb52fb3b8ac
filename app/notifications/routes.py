"""/account/notifications: when to be mailed about unread texts, and push to this device."""

from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.decorators import STAFF, role_required
from app.errors import ValidationError, json_error
from app.extensions import db, limiter, user_rate_key
from app.notifications import bp, services, subscriptions
from app.notifications.forms import PreferencesForm

# A subscription is a few hundred bytes of JSON; nothing bigger is read.
SUBSCRIPTION_MAX_BYTES = 4096


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
        devices=services.device_count(current_user.id),
        vapid_public_key=current_app.config.get("VAPID_PUBLIC_KEY") or "",
    ), (422 if form.errors else 200)


@bp.post("/account/notifications/push")
@role_required(*STAFF)
@limiter.limit("30 per hour", key_func=user_rate_key)
def subscribe():
    """Keep this browser's push subscription (JSON from static/js/push.js) for the signed-in user."""
    if _too_large():
        return json_error(413, "too_large", "A push subscription is a few hundred bytes.")
    try:
        keys = subscriptions.parse_subscription(request.get_json(silent=True), current_app.config["KOINONIA_ENV"])
    except ValidationError as err:
        return json_error(err.status, err.code, err.message, err.details)
    subscriptions.subscribe(current_user, keys)
    db.session.commit()
    return jsonify({"subscribed": True, "devices": services.device_count(current_user.id)})


@bp.post("/account/notifications/push/delete")
@role_required(*STAFF)
@limiter.limit("30 per hour", key_func=user_rate_key)
def unsubscribe():
    """Forget this browser's push subscription (only ever the signed-in user's own)."""
    if _too_large():
        return json_error(413, "too_large", "A push subscription is a few hundred bytes.")
    data = request.get_json(silent=True)
    removed = subscriptions.unsubscribe(current_user, data.get("endpoint") if isinstance(data, dict) else None)
    db.session.commit()
    return jsonify({"removed": removed, "devices": services.device_count(current_user.id)})


def _too_large() -> bool:
    """A body declared too big; one sent without a length is cut off at the same size when read."""
    request.max_content_length = SUBSCRIPTION_MAX_BYTES
    return (request.content_length or 0) > SUBSCRIPTION_MAX_BYTES
