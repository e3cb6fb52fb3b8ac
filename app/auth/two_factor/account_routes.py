"""/account/two-factor: set up an authenticator app, recovery codes and passkeys; owners require it."""

from __future__ import annotations

import json

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.auth import bp
from app.auth.decorators import OWNERS, role_required
from app.auth.services import verify_password
from app.auth.two_factor import passkeys, services, totp
from app.auth.two_factor.forms import (
    ConfirmAppForm,
    PasskeyNameForm,
    RecoveryCodesForm,
    RequireForm,
    TurnOffAppForm,
)
from app.extensions import db, limiter
from app.models import Passkey
from app.security import login_throttle
from app.tenancy import scoped

# A registration or assertion is a few kilobytes (an attestation certificate chain at most).
CREDENTIAL_MAX = 64 * 1024
LAST_FACTOR = "Your church requires two-factor: add a passkey or an authenticator app before removing this one."
ceremony_limit = limiter.limit("30 per minute")


@bp.before_app_request
def send_to_two_factor_set_up():
    """In a church that requires two-factor, a user without it can only set it up (or sign out)."""
    endpoint = request.endpoint or ""
    if endpoint == "static" or request.blueprint in ("auth", "api") or not current_user.is_authenticated:
        return None
    if not services.must_set_up(current_user):
        return None
    target = url_for("auth.two_factor")
    if request.headers.get("HX-Request"):
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target)


def _page(status: int = 200, **forms):
    user = current_user
    context = {
        "app_on": services.has_totp(user),
        "passkeys": services.passkeys(user),
        "codes_left": services.unused_recovery_codes(user),
        "must_set_up": services.must_set_up(user),
        "off_form": forms.get("off_form") or TurnOffAppForm(),
        "codes_form": forms.get("codes_form") or RecoveryCodesForm(),
        "passkey_form": forms.get("passkey_form") or PasskeyNameForm(),
        "require_form": forms.get("require_form") or RequireForm(required=user.church.require_two_factor),
        "rp_origin": passkeys.relying_party()[1],
    }
    return render_template("auth/two_factor.html", **context), status


def _codes_page(codes: list[str], message: str):
    """The recovery codes, shown this once (never stored in the session or a redirect)."""
    response = Response(render_template("auth/recovery_codes.html", codes=codes, message=message))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/account/two-factor")
@login_required
def two_factor():
    """Two-factor for the signed-in user: authenticator app, passkeys, recovery codes."""
    return _page()


@bp.post("/account/two-factor/app/start")
@login_required
def two_factor_app_start():
    """Make a new secret for an authenticator app and show it (unconfirmed until a code is typed)."""
    if services.has_totp(current_user):
        return redirect(url_for("auth.two_factor"))
    services.start_totp_setup(current_user)
    db.session.commit()
    return redirect(url_for("auth.two_factor_app"))


@bp.route("/account/two-factor/app", methods=["GET", "POST"])
@login_required
def two_factor_app():
    """The secret as a QR code and an otpauth:// URI, and the first code that confirms it."""
    secret = services.pending_totp_secret(current_user)
    if secret is None:
        return redirect(url_for("auth.two_factor"))
    form = ConfirmAppForm()
    if form.validate_on_submit():
        codes = services.confirm_totp(current_user, form.code.data)
        if codes is not None:
            db.session.commit()
            if codes:
                return _codes_page(codes, "Two-factor is on. Save these recovery codes now.")
            flash("Your authenticator app is set up.", "success")
            return redirect(url_for("auth.two_factor"))
        form.code.errors.append("That code is not right. Check your app and try the newest code.")
    uri = totp.provisioning_uri(secret, current_user.email)
    status = 422 if request.method == "POST" else 200
    response = Response(
        render_template("auth/two_factor_app.html", form=form, uri=uri, qr=totp.qr_svg(uri), secret=secret),
        status=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/account/two-factor/app/off")
@login_required
def two_factor_app_off():
    """Turn the authenticator app off; the password or a current code says it is really you."""
    form = TurnOffAppForm()
    if form.validate_on_submit():
        if current_user.church.require_two_factor and services.is_last_factor(current_user, app=True):
            form.password_or_code.errors.append(LAST_FACTOR)
        elif _proves_identity(
            form.password_or_code, "That is neither your password nor a current code.", app_code=True
        ):
            services.disable_totp(current_user)
            db.session.commit()
            flash("Your authenticator app is off.", "success")
            return redirect(url_for("auth.two_factor"))
    return _page(422, off_form=form)


@bp.post("/account/two-factor/recovery-codes")
@login_required
def two_factor_recovery_codes():
    """Replace the recovery codes with ten new ones (the old ones stop working)."""
    form = RecoveryCodesForm()
    if not current_user.two_factor_enabled:
        return redirect(url_for("auth.two_factor"))
    if form.validate_on_submit():
        if _proves_identity(form.password, "That is not your password."):
            codes = services.issue_recovery_codes(current_user)
            db.session.commit()
            return _codes_page(codes, "New recovery codes: the old ones no longer work.")
    return _page(422, codes_form=form)


@bp.post("/account/two-factor/require")
@role_required(*OWNERS)
def two_factor_require():
    """The owner requires two-factor of everyone at the church (their own must be on first)."""
    form = RequireForm()
    if form.validate_on_submit():
        if form.required.data and not current_user.two_factor_enabled:
            form.required.errors.append("Turn on two-factor for your own account first.")
            return _page(422, require_form=form)
        services.set_church_requirement(current_user.church, form.required.data)
        db.session.commit()
        flash(
            "Everyone at the church now needs two-factor to use Koinonia."
            if form.required.data
            else "Two-factor is no longer required.",
            "success",
        )
    return redirect(url_for("auth.two_factor"))


@bp.post("/account/two-factor/passkeys/options")
@login_required
@ceremony_limit
def two_factor_passkey_options():
    """JSON options for the browser to create a passkey (the page's script asks for them)."""
    options = passkeys.registration_options(current_user, services.passkeys(current_user))
    return Response(options, mimetype="application/json", headers={"Cache-Control": "no-store"})


@bp.post("/account/two-factor/passkeys")
@login_required
@ceremony_limit
def two_factor_passkey_add():
    """Store the passkey the browser created (its answer comes in the form's `credential` field)."""
    form = PasskeyNameForm()
    if form.validate_on_submit():
        credential = read_credential()
        if credential is None:
            form.name.errors.append("Your browser did not create a passkey. Try again.")
        else:
            try:
                passkeys.register(current_user, credential, form.name.data)
            except passkeys.PasskeyError as err:
                db.session.rollback()
                form.name.errors.append(str(err))
            else:
                codes = services.passkey_added(current_user)
                db.session.commit()
                if codes:
                    return _codes_page(codes, "Two-factor is on. Save these recovery codes now.")
                flash(f"Passkey “{form.name.data.strip()}” added.", "success")
                return redirect(url_for("auth.two_factor"))
    return _page(422, passkey_form=form)


@bp.post("/account/two-factor/passkeys/<int:passkey_id>/delete")
@login_required
def two_factor_passkey_delete(passkey_id: int):
    """Remove one of your passkeys."""
    passkey = db.session.scalar(scoped(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == current_user.id))
    if passkey is None:
        abort(404)
    if current_user.church.require_two_factor and services.is_last_factor(current_user, passkey=passkey):
        flash(LAST_FACTOR, "error")
        return redirect(url_for("auth.two_factor"))
    name = passkey.name
    services.remove_passkey(current_user, passkey)
    db.session.commit()
    flash(f"Passkey “{name}” removed.", "success")
    return redirect(url_for("auth.two_factor"))


def _proves_identity(field, wrong: str, *, app_code: bool = False) -> bool:
    """Whether the field holds the user's password (or, with `app_code`, a current app code).

    Counted with the sign-in attempts of this address and account: a borrowed session must not
    become a way to guess the password without limit.
    """
    attempt = login_throttle.charge(request.remote_addr or "unknown", current_user.email)
    if attempt.refused:
        field.errors.append("Too many attempts. For your security, try again in a few minutes.")
        return False
    answer = field.data
    if verify_password(current_user.password_hash, answer) or (app_code and services.check_totp(current_user, answer)):
        attempt.refund()
        return True
    field.errors.append(wrong)
    return False


def read_credential() -> dict | None:
    """The browser's WebAuthn answer from the form's `credential` field, bounded and parsed, or None."""
    raw = request.form.get("credential", "")
    if not raw or len(raw) > CREDENTIAL_MAX:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
