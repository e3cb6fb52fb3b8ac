"""The sign-in step after the password (an app code, a recovery code or a passkey), and signing in
with a passkey alone."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user

from app.auth import bp
from app.auth.routes import fresh_session, record_sign_in, safe_next
from app.auth.two_factor import passkeys, pending, services
from app.auth.two_factor.account_routes import ceremony_limit, read_credential
from app.auth.two_factor.forms import SecondFactorForm
from app.errors import json_error
from app.extensions import db
from app.models import User

EXPIRED = "Your sign-in took too long. Enter your email and password again."


def _sign_in(user: User, *, remember: bool, next_url: str | None):
    """Both factors are in (or a passkey alone): start the signed-in session, as the password-only
    sign-in does."""
    record_sign_in(user, remember=remember, two_factor=True)
    db.session.commit()
    fresh_session()  # also drops the waiting marker
    login_user(user, remember=remember)
    return redirect(safe_next(next_url))


def _start_again():
    flash(EXPIRED, "info")
    return redirect(url_for("auth.login"))


def _challenge_page(form: SecondFactorForm, user: User, status: int = 200):
    has_passkeys = bool(services.passkeys(user))
    page = render_template(
        "auth/second_factor.html", form=form, has_passkeys=has_passkeys, has_app=services.has_totp(user)
    )
    return page, status


@bp.route("/login/two-factor", methods=["GET", "POST"])
def second_factor():
    """After the password: one code from the app (or a recovery code, or a passkey)."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    waiting = pending.waiting()
    if waiting is None:
        return _start_again()
    user, marker = waiting
    form = SecondFactorForm()
    if form.validate_on_submit():
        # Charged before the code is checked, like passwords: see app.security.login_throttle.
        attempt = pending.charge_code_attempt(user)
        if attempt.refused:
            minutes = -(-attempt.retry_after // 60)
            form.code.errors.append(
                f"Too many codes tried. For your security, try again in {minutes} minute{'s' if minutes != 1 else ''}."
            )
            page, _ = _challenge_page(form, user)
            return page, 429, {"Retry-After": str(attempt.retry_after)}
        used = services.check_code(user, form.code.data)
        if used is not None:
            attempt.refund()
            db.session.commit()
            if used == "recovery":
                left = services.unused_recovery_codes(user)
                flash(f"You used a recovery code; {left} left. Make new ones under Two-factor.", "warning")
            return _sign_in(user, remember=marker["remember"], next_url=marker["next"])
        db.session.rollback()
        form.code.errors.append("That code is not right, or was already used. Try the newest code from your app.")
    return _challenge_page(form, user, 422 if request.method == "POST" else 200)


@bp.post("/login/two-factor/passkey/options")
@ceremony_limit
def second_factor_passkey_options():
    """JSON options for the browser to use one of the waiting user's passkeys."""
    waiting = pending.waiting()
    if waiting is None:
        return json_error(401, "expired", EXPIRED)
    return Response(passkeys.authentication_options(waiting[0]), mimetype="application/json")


@bp.post("/login/two-factor/passkey")
@ceremony_limit
def second_factor_passkey():
    """The waiting user's passkey answered: signed in."""
    waiting = pending.waiting()
    if waiting is None:
        return _start_again()
    user, marker = waiting
    credential = read_credential()
    try:
        if credential is None:
            raise passkeys.PasskeyError("Your browser did not use a passkey. Try again.")
        passkeys.authenticate(credential, user)
    except passkeys.PasskeyError as err:
        db.session.rollback()
        form = SecondFactorForm()
        form.form_errors.append(str(err))
        return _challenge_page(form, user, 422)
    db.session.commit()
    return _sign_in(user, remember=marker["remember"], next_url=marker["next"])


@bp.post("/login/passkey/options")
@ceremony_limit
def passkey_login_options():
    """JSON options for the browser to offer any passkey it holds for Koinonia."""
    return Response(passkeys.authentication_options(None), mimetype="application/json")


@bp.post("/login/passkey")
@ceremony_limit
def passkey_login():
    """Sign in with a passkey alone (the device checked its owner: both factors in one)."""
    credential = read_credential()
    try:
        if credential is None:
            raise passkeys.PasskeyError("Your browser did not use a passkey. Try again.")
        passkey = passkeys.authenticate(credential, None)
    except passkeys.PasskeyError as err:
        db.session.rollback()
        flash(str(err), "error")
        return redirect(url_for("auth.login", next=request.args.get("next")))
    user = db.session.get(User, passkey.user_id)
    if user is None or not user.active:
        db.session.rollback()
        flash("That account cannot sign in.", "error")
        return redirect(url_for("auth.login"))
    user.last_login_at = datetime.now(UTC)
    db.session.commit()
    return _sign_in(user, remember=request.form.get("remember") == "y", next_url=request.args.get("next"))
