"""Forms for sign-up, forgotten passwords, the account page and staff management."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from app.people.forms import CheckboxListField
from app.people.phones import PHONE_MAX, PHONE_TOO_LONG, PhoneError, normalize_phone
from app.security.passwords import MAX_LENGTH, password_problem
from app.settings.forms import timezone_choices
from app.settings.services import timezones

EMAIL_VALIDATORS = [
    DataRequired("Enter your email address."),
    Length(max=254, message="At most 254 characters."),
    Email("Enter an email address like name@example.org.", check_deliverability=False),
]


def _password_rule(form, field) -> None:
    problem = password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


def new_password_field(label: str = "New password") -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired("Choose a password."), Length(max=MAX_LENGTH), _password_rule],
        description="At least 10 characters; a few words you will remember work well.",
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=EMAIL_VALIDATORS)


class ResetPasswordForm(FlaskForm):
    password = new_password_field()
    confirm = PasswordField(
        "Type it again",
        validators=[DataRequired("Type the password again."), EqualTo("password", "The two passwords differ.")],
    )


class ProfileForm(FlaskForm):
    name = StringField(
        "Your name", validators=[DataRequired("Enter your name."), Length(max=200, message="At most 200 characters.")]
    )
    phone = StringField(
        "Your mobile number (optional)",
        validators=[Optional(), Length(max=PHONE_MAX, message=PHONE_TOO_LONG)],
    )

    def __init__(self, *args, country: str = "US", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.country = country
        self.phone_e164: str | None = None

    def validate_phone(self, field: StringField) -> None:
        try:
            self.phone_e164 = normalize_phone(field.data, self.country)
        except PhoneError as exc:
            raise ValidationError(str(exc)) from None


class ChangePasswordForm(ResetPasswordForm):
    """The new password twice, as on a reset, and the current one."""

    current = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password."), Length(max=200)]
    )


class SignupForm(FlaskForm):
    church_name = StringField(
        "Church name",
        validators=[DataRequired("Enter your church's name."), Length(min=2, max=200, message="2 to 200 characters.")],
    )
    timezone = SelectField("Time zone", validate_choice=False, default="America/Chicago")
    name = StringField(
        "Your name", validators=[DataRequired("Enter your name."), Length(max=200, message="At most 200 characters.")]
    )
    email = EmailField("Email", validators=EMAIL_VALIDATORS)
    password = new_password_field("Password")
    # A honeypot: hidden from people (CSS and aria-hidden), filled in by form-filling bots.
    website = StringField("Leave this empty", validators=[Length(max=200)])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()

    def validate_timezone(self, field: SelectField) -> None:
        if field.data not in timezones():
            raise ValidationError("Choose a time zone from the list.")


# --- staff ------------------------------------------------------------------------------------

ROLE_CHOICES = [("admin", "Admin: manages the whole church"), ("leader", "Leader: their groups' members and inbox")]
MAX_GROUPS = 500  # more group ids than any church has are not worth reading


class InviteForm(FlaskForm):
    """Invite a person by email as an admin or a leader (with the groups they will lead)."""

    email = EmailField(
        "Email",
        validators=[
            DataRequired("Enter their email address."),
            Length(max=254, message="At most 254 characters."),
            Email("Enter an email address like name@example.org.", check_deliverability=False),
        ],
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default="leader")
    groups = CheckboxListField("Groups they lead", coerce=int)

    def __init__(self, *args, group_choices: list[tuple[int, str]] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.groups.choices = list(group_choices)

    def validate_groups(self, field: SelectMultipleField) -> None:
        if len(field.data or []) > MAX_GROUPS:
            raise ValidationError(f"At most {MAX_GROUPS} groups.")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=[("admin", "Admin"), ("leader", "Leader")])


class AcceptInvitationForm(ResetPasswordForm):
    """The invited person's name and password (the same rule as sign-up), the password twice."""

    name = ProfileForm.name
    password = new_password_field("Password")


class TransferForm(FlaskForm):
    password = PasswordField(
        "Your current password", validators=[DataRequired("Enter your current password."), Length(max=200)]
    )
