"""/account/sessions: where you are signed in, and ending any of those sessions."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from app.auth import bp, sessions
from app.extensions import db

MAX_KEY = sessions.MAX_KEY


@bp.get("/account/sessions")
@login_required
def account_sessions():
    """The browsers you are signed in on, the most recently used first."""
    rows = sessions.sessions_of(current_user)
    return render_template(
        "account/sessions.html",
        rows=rows,
        current_key=sessions.current_key(),
        describe=sessions.describe,
        network=sessions.network,
    )


@bp.post("/account/sessions/end")
@login_required
def end_session():
    """End one session: that browser is signed out on its next request (this one: now)."""
    key = (request.form.get("session") or "")[:MAX_KEY]
    if not key or not sessions.end(current_user, key):
        abort(404)
    db.session.commit()
    if key == sessions.current_key():
        session.clear()
        logout_user()
        flash("You have been signed out on this device.", "info")
        return redirect(url_for("auth.login"))
    flash("That session has ended: the browser is signed out.", "success")
    return redirect(url_for("auth.account_sessions"))


@bp.post("/account/sessions/end-others")
@login_required
def end_other_sessions():
    """Sign out every other browser; this one stays signed in."""
    key = sessions.current_key()
    if key is None:
        abort(400)
    ended = sessions.end_others(current_user, key)
    db.session.commit()
    flash(f"Signed out of {ended} other session{'s' if ended != 1 else ''}.", "success")
    return redirect(url_for("auth.account_sessions"))
