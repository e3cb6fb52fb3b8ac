"""The notification preferences form."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField
from wtforms.validators import NumberRange, Optional

from app.models.notifications import EMAIL_AFTER_MAX, EMAIL_AFTER_MIN
from app.notifications.services import Preferences

MINUTES_MESSAGE = f"Enter a number of minutes from {EMAIL_AFTER_MIN} to {EMAIL_AFTER_MAX}."


class PreferencesForm(FlaskForm):
    email = BooleanField("Email me about texts that stay unread")
    email_after_minutes = IntegerField(
        "Minutes unread before the email",
        validators=[Optional(), NumberRange(EMAIL_AFTER_MIN, EMAIL_AFTER_MAX, MINUTES_MESSAGE)],
        render_kw={"min": EMAIL_AFTER_MIN, "max": EMAIL_AFTER_MAX, "inputmode": "numeric", "maxlength": 4},
    )
    include_text = BooleanField("Include what the member wrote")
    push = BooleanField("Push notifications for new replies in threads assigned to me")

    def fill_from(self, prefs: Preferences) -> None:
        self.email.data = prefs.email_after_minutes is not None
        self.email_after_minutes.data = prefs.email_after_minutes or Preferences().email_after_minutes
        self.include_text.data = prefs.include_text
        self.push.data = prefs.push

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        minutes = self.email_after_minutes
        # Optional() ends the field's own checks on an empty value; with mail on it is needed.
        if self.email.data and minutes.data is None and not minutes.errors:
            minutes.errors = [*minutes.errors, MINUTES_MESSAGE]
            ok = False
        return ok

    def preferences(self) -> Preferences:
        return Preferences(
            email_after_minutes=self.email_after_minutes.data if self.email.data else None,
            include_text=bool(self.include_text.data),
            push=bool(self.push.data),
        )
