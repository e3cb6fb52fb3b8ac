"""Sign in and sign out."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from redis.exceptions import RedisError

from app import audit
from app.auth import bp, sessions
from app.auth.forms import LoginForm
from app.auth.services import authenticate, find_user_by_email
from app.auth.two_factor import pending
from app.extensions import db
from app.security import login_throttle

log = logging.getLogger(__name__)


def safe_next(target: str | None) -> str:
    """Only follow same-site relative redirects after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in page."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        # Charged before the password is checked: see app.security.login_throttle.
        try:
            attempt = login_throttle.charge(request.remote_addr or "unknown", form.email.data)
        except RedisError:
            # No counter, no password check: an outage must not switch the throttle off.
            log.error("sign-in refused: the attempt counters (Redis) are unreachable")
            form.form_errors.append("Signing in is briefly unavailable. Please try again in a minute.")
            return render_template("auth/login.html", form=form), 503, {"Retry-After": "60"}
        if attempt.refused:
            minutes = -(-attempt.retry_after // 60)
            form.form_errors.append(
                f"Too many attempts to sign in. For your security, try again in {minutes} "
                f"minute{'s' if minutes != 1 else ''}."
            )
            page = render_template("auth/login.html", form=form)
            return page, 429, {"Retry-After": str(attempt.retry_after)}
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            try:
                attempt.refund()
            except RedisError:  # the counter went away meanwhile: one charge left behind, no harm
                log.warning("could not refund a sign-in attempt (Redis unreachable)")
            if user.two_factor_enabled:
                # Not signed in yet: the next page asks for the second factor (and records the sign-in).
                db.session.commit()
                fresh_session()
                pending.begin(user, remember=form.remember.data, next_url=request.args.get("next") or "")
                return redirect(url_for("auth.second_factor"))
            record_sign_in(user, remember=bool(form.remember.data))
            db.session.commit()
            fresh_session()
            login_user(user, remember=form.remember.data)  # starts its session row (app.auth.sessions)
            return redirect(safe_next(request.args.get("next")))
        _record_failure(form.email.data)
        form.password.errors.append("That email and password do not match an account.")
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


def record_sign_in(user, *, remember: bool, **detail) -> None:
    """Note a completed sign-in in the church's audit log (committed by the caller)."""
    detail = {"remember": remember, "device": sessions.describe(request.user_agent.string), **detail}
    audit.record("auth.sign_in", target=user, actor=user, detail=detail)


def _record_failure(email: str) -> None:
    """A failed sign-in is the named account's church's business; an unknown address is no one's.

    The page and its status are the same either way, and both commit (the row rides on a commit
    that happens anyway), so neither the answer nor its timing tells whether an account exists.
    """
    account = find_user_by_email(email)
    if account is not None:
        detail = {"device": sessions.describe(request.user_agent.string)}
        if not account.active:
            detail["account"] = "deactivated"
        audit.record("auth.sign_in_failed", target=account, actor=account, detail=detail)
    db.session.commit()


def fresh_session() -> None:
    """Start the signed-in session empty: nothing set before sign-in (by anyone) carries over."""
    kept = {key: session[key] for key in KEPT_AT_SIGN_IN if key in session}
    session.clear()
    session.update(kept)


# Messages waiting to be shown are all a visitor's session holds that sign-in should keep
# (`next` travels in the query string).
KEPT_AT_SIGN_IN = ("_flashes",)


@bp.post("/logout")
def logout():
    """Sign out everywhere (POST only, so a link or image cannot sign someone out).

    The session is a signed cookie, so a copy of it would outlive a plain sign-out: moving the
    user's session version ends this session, its copies and every remember-me cookie at once.
    """
    if current_user.is_authenticated:
        audit.record("auth.signed_out", target=current_user._get_current_object())
        current_user.end_sessions()
        sessions.end_all(current_user.id)
        db.session.commit()
    session.clear()
    logout_user()  # after clear(): it leaves the note that deletes the remember-me cookie
    flash("You have been signed out.", "info")
    return redirect(url_for("auth.login"))
