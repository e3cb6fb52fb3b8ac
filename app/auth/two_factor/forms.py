"""Forms of the two-factor pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

CODE_FIELD = {"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "off", "spellcheck": "false"}


class SecondFactorForm(FlaskForm):
    """The sign-in step after the password: an app code or a recovery code."""

    code = StringField(
        "Code",
        validators=[DataRequired("Enter the 6-digit code from your app, or a recovery code."), Length(max=64)],
        render_kw=CODE_FIELD,
    )


class ConfirmAppForm(FlaskForm):
    """Set-up: the first code from the app proves the secret was saved."""

    code = StringField(
        "Code from your app",
        validators=[DataRequired("Enter the 6-digit code your app shows."), Length(max=64)],
        render_kw={**CODE_FIELD, "inputmode": "numeric"},
    )


class TurnOffAppForm(FlaskForm):
    """Turning the app off asks for the password or a current code: a borrowed session is not enough."""

    password_or_code = PasswordField(
        "Your password, or a code from your app",
        validators=[DataRequired("Enter your password or a code from your app."), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class RecoveryCodesForm(FlaskForm):
    """New recovery codes replace the old ones; the password guards them like turning off."""

    password = PasswordField(
        "Your password",
        validators=[DataRequired("Enter your password."), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class RequireForm(FlaskForm):
    """The owner's switch for the whole church."""

    required = BooleanField("Require two-factor for everyone at this church")


class PasskeyNameForm(FlaskForm):
    """The name a new passkey is listed under."""

    name = StringField(
        "Name this passkey",
        validators=[DataRequired("Give the passkey a name."), Length(max=100)],
        render_kw={"placeholder": "e.g. Work laptop", "autocomplete": "off"},
    )
