"""Sign-up, forgotten passwords and the account page."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user

from app.accounts import bp, services, tokens
from app.accounts.forms import ChangePasswordForm, ForgotPasswordForm, ProfileForm, ResetPasswordForm, SignupForm
from app.auth.routes import fresh_session
from app.extensions import db
from app.people.phones import format_national
from app.security import login_throttle


def _client_address() -> str:
    return request.remote_addr or "unknown"


def _too_many(template: str, retry_after: int, **context):
    minutes = -(-retry_after // 60)
    message = f"Too many requests from here. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    return render_template(template, too_many=message, **context), 429, {"Retry-After": str(retry_after)}


def link_gone(what: str):
    """A used, expired or unknown link: 410 and no form."""
    return render_template("accounts/link_gone.html", what=what), 410


# --- forgotten passwords ----------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    """Ask for a reset link; the answer is the same whether or not the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        wait = services.charge_reset(_client_address(), form.email.data)
        if wait:
            return _too_many("accounts/forgot.html", wait, form=form)
        services.request_password_reset(form.email.data)
        db.session.commit()
        return render_template("accounts/forgot_sent.html", email=form.email.data)
    return render_template("accounts/forgot.html", form=form), 422 if request.method == "POST" else 200


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from a mailed link (one hour, once)."""
    if tokens.peek(tokens.PASSWORD_RESET, token) is None:
        return link_gone("password reset")
    form = ResetPasswordForm()
    if form.validate_on_submit():
        user = services.reset_password(token, form.password.data)
        if user is None:
            db.session.rollback()
            return link_gone("password reset")
        db.session.commit()
        flash("Your password has been changed and every session signed out. Sign in with the new one.", "success")
        return redirect(url_for("auth.login"))
    return render_template("accounts/reset.html", form=form, token=token), 422 if request.method == "POST" else 200


# --- the account page -------------------------------------------------------------------------


def _account_page(profile: ProfileForm | None = None, password: ChangePasswordForm | None = None, status: int = 200):
    country = current_user.church.country
    phone = format_national(current_user.phone_e164, country)
    profile = profile or ProfileForm(formdata=None, name=current_user.name, phone=phone, country=country)
    password = password or ChangePasswordForm(formdata=None)
    return render_template("accounts/account.html", profile=profile, password=password), status


@bp.get("/account")
@login_required
def account():
    """The signed-in person's profile and password."""
    return _account_page()


@bp.post("/account/profile")
@login_required
def update_profile():
    """Save the profile (name and, optionally, a mobile number for test texts)."""
    form = ProfileForm(country=current_user.church.country)
    if not form.validate_on_submit():
        return _account_page(profile=form, status=422)
    services.update_profile(current_user, form.name.data, form.phone_e164)
    db.session.commit()
    flash("Your profile has been saved.", "success")
    return redirect(url_for("accounts.account"))


@bp.post("/account/password")
@login_required
def change_password():
    """Change the password (the current one is needed); every other session ends."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _account_page(password=form, status=422)
    # Guesses at the current password count like sign-in attempts (app.security.login_throttle).
    attempt = login_throttle.charge(_client_address(), current_user.email)
    if attempt.refused:
        form.current.errors.append("Too many wrong passwords. Try again later.")
        return _account_page(password=form, status=429)
    user = current_user._get_current_object()
    if not services.change_password(user, form.current.data, form.password.data):
        form.current.errors.append("That is not your current password.")
        return _account_page(password=form, status=422)
    attempt.refund()
    db.session.commit()
    # The new password moved the session version: sign this session in again at the new one.
    login_user(user)
    flash("Your password has been changed; other devices have been signed out.", "success")
    return redirect(url_for("accounts.account"))


# --- sign-up ----------------------------------------------------------------------------------


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """Sign a church up: a verification link is mailed; opening it makes the church."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = SignupForm()
    if form.validate_on_submit():
        if form.website.data:  # the honeypot: a bot is told what a person would be
            return redirect(url_for("accounts.signup_sent"))
        wait = services.charge_signup(_client_address(), form.email.data)
        if wait:
            return _too_many("accounts/signup.html", wait, form=form)
        services.request_signup(
            services.Signup(
                church_name=form.church_name.data,
                timezone=form.timezone.data,
                name=form.name.data,
                email=form.email.data,
                password=form.password.data,
            )
        )
        db.session.commit()
        return redirect(url_for("accounts.signup_sent"))
    return render_template("accounts/signup.html", form=form), 422 if request.method == "POST" else 200


@bp.get("/signup/sent")
def signup_sent():
    """Check your inbox."""
    return render_template("accounts/signup_sent.html")


@bp.get("/signup/verify/<token>")
def verify_signup(token: str):
    """Opening the mailed link makes the church and signs its owner in."""
    try:
        owner = services.verify_signup(token)
    except services.EmailTaken:
        return address_taken()
    if owner is None:
        db.session.rollback()
        return link_gone("sign-up")
    return signed_in_from_link(
        owner, f"Welcome to Koinonia! {owner.church.name} is on a free trial of the Starter plan."
    )


def address_taken():
    """A mailed link for an address that has an account by now: nothing is made, sign in instead."""
    db.session.rollback()
    flash("That email address already has an account: sign in, or reset its password.", "info")
    return redirect(url_for("auth.login"))


def signed_in_from_link(user, welcome: str):
    """A mailed link was spent and made `user`: commit, start a fresh signed-in session, welcome them."""
    db.session.commit()
    fresh_session()
    login_user(user)
    flash(welcome, "success")
    return redirect(url_for("dashboard.index"))
