"""Forms for members and groups. The member form is also what validates the phone field inline."""

from __future__ import annotations

from flask import request, url_for
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import EmailField, SelectField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from app.models import Church, Member
from app.people import custom_fields as cf
from app.people.phones import PHONE_MAX, PHONE_TOO_LONG, PhoneError, format_national, normalize_phone
from app.people.services import MemberInput, phone_owner

# Longer than any field accepts, short enough that nothing slow ever reads it.
CUSTOM_RAW_MAX = 1000

LANGUAGES = [
    ("en", "English"),
    ("es", "Spanish"),
    ("fr", "French"),
    ("pt", "Portuguese"),
    ("ko", "Korean"),
    ("zh", "Chinese"),
    ("vi", "Vietnamese"),
    ("tl", "Tagalog"),
    ("sw", "Swahili"),
    ("yo", "Yoruba"),
]


class CheckboxListField(SelectMultipleField):
    """Several choices as checkboxes (the .checkbox-list look), coerced to ids."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class MemberForm(FlaskForm):
    """Create and edit a member. Opt-out is not a field: only the member can opt back in (START)."""

    first_name = StringField("First name", validators=[DataRequired("Enter a first name."), Length(max=100)])
    last_name = StringField("Last name", validators=[Optional(), Length(max=100)])
    phone = StringField(
        "Mobile phone",
        validators=[DataRequired("Enter a phone number."), Length(max=PHONE_MAX, message=PHONE_TOO_LONG)],
        render_kw={"type": "tel", "autocomplete": "tel", "inputmode": "tel"},
    )
    email = EmailField(
        "Email",
        validators=[
            Optional(),
            Length(max=320, message="At most 320 characters."),
            Email("Enter an email address like name@example.org.", check_deliverability=False),
        ],
    )
    branch_id = SelectField("Branch", coerce=int, validators=[Optional()])
    group_ids = CheckboxListField("Groups", coerce=int, validators=[Optional()])
    language = SelectField("Preferred language", choices=LANGUAGES, default="en")
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=10_000)], render_kw={"rows": 4})

    def __init__(
        self,
        *args,
        church: Church,
        member: Member | None = None,
        branches=(),
        groups=(),
        custom_fields: list[cf.FieldSpec] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.church = church
        self.member = member
        self.phone_e164: str | None = None
        self.branch_id.choices = [(0, "No branch")] + [(b.id, b.name) for b in branches]
        self.group_ids.choices = [(g.id, g.name) for g in groups]
        # The church's own fields: posted as custom_<key>, kept as typed, errors by key.
        self.custom_fields = list(custom_fields or [])
        self.custom_errors: dict[str, str] = {}
        self.custom_values: dict[int, object] = {}
        if self.is_submitted():
            posted = request.form
            self.custom_raw = {f.key: posted.get(f"custom_{f.key}", "")[:CUSTOM_RAW_MAX] for f in self.custom_fields}
        else:
            saved = cf.member_values(church.id, [member.id])[member.id] if member is not None else {}
            self.custom_raw = {f.key: cf.display(saved.get(f.key)) for f in self.custom_fields}

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for spec in self.custom_fields:
            try:
                self.custom_values[spec.id] = cf.parse_value(spec, self.custom_raw.get(spec.key, ""))
            except cf.FieldValueError as err:
                self.custom_errors[spec.key] = str(err)
        return ok and not self.custom_errors

    def validate_phone(self, field: StringField) -> None:
        """A number we can text, in the church's country, not already someone else's here."""
        if len(field.data or "") > PHONE_MAX:
            return  # Length said so; nothing parses text this long
        try:
            e164 = normalize_phone(field.data, self.church.country or "US")
        except PhoneError as err:
            raise ValidationError(str(err)) from None
        owner = phone_owner(self.church.id, e164, self.member.id if self.member else None)
        if owner is not None:
            link = url_for("people.member", member_id=owner.id)
            raise ValidationError(
                Markup('{} already belongs to <a href="{}">{}</a>.').format(
                    format_national(e164), link, owner.full_name
                )
            )
        self.phone_e164 = e164

    def validate_field(self, name: str) -> bool:
        """Validate one field as the full submit would (the inline HTMX check uses this)."""
        field = self[name]
        inline = getattr(type(self), f"validate_{name}", None)
        return field.validate(self, [inline] if inline else [])

    def to_input(self) -> MemberInput:
        """The validated values for the service layer."""
        return MemberInput(
            first_name=self.first_name.data or "",
            last_name=self.last_name.data or "",
            phone_e164=self.phone_e164 or "",
            email=self.email.data or None,
            branch_id=self.branch_id.data or None,
            group_ids=list(self.group_ids.data or []),
            language=self.language.data or "en",
            notes=self.notes.data or None,
            custom=dict(self.custom_values),
        )


class NoteForm(FlaskForm):
    """A note about a member: the one change leaders may make."""

    body = TextAreaField(
        "Add a note", validators=[DataRequired("Write the note first."), Length(max=2000)], render_kw={"rows": 3}
    )


class GroupForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the group a name."), Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)], render_kw={"rows": 3})
