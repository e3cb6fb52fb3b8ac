"""Settings → Integrations forms: connecting Planning Center, and its lists' groups."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp

# Planning Center's application ids and secrets are long hex strings; anything else is a typo.
TOKEN_PART = r"^[A-Za-z0-9_\-]{8,128}$"


def _token_part(label: str, what: str) -> StringField:
    field = PasswordField if what == "secret" else StringField
    return field(
        label,
        validators=[
            DataRequired(f"Paste the {what} of your personal access token."),
            Length(max=128),
            Regexp(TOKEN_PART, message=f"The {what} is 8 to 128 letters and digits."),
        ],
    )


class ConnectForm(FlaskForm):
    app_id = _token_part("Application ID", "application ID")
    secret = _token_part("Secret", "secret")
    consent = BooleanField(
        "The people we sync agreed to receive texts from us",
        validators=[DataRequired("Confirm that the people in Planning Center agreed to receive texts from you.")],
    )


class ListsForm(FlaskForm):
    """Only the CSRF token: the list choices are `list-<id>` selects drawn from the church's lists."""
