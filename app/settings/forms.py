"""Forms for the settings pages: branches and their sending numbers."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app.models.tenancy import NUMBER_TYPES
from app.people.phones import PhoneError, normalize_phone

NUMBER_TYPE_LABELS = {"long_code": "Local number (10DLC)", "toll_free": "Toll-free", "short_code": "Short code"}


class BranchForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the branch a name."), Length(max=200)])
    address = TextAreaField("Address", validators=[Optional(), Length(max=1000)], render_kw={"rows": 3})


class NumberForm(FlaskForm):
    """A sending number; short codes are digits only, everything else is parsed to E.164."""

    e164 = StringField("Number", validators=[DataRequired("Enter the number.")], render_kw={"type": "tel"})
    number_type = SelectField("Type", choices=[(t, NUMBER_TYPE_LABELS[t]) for t in NUMBER_TYPES])
    branch_id = SelectField("Sends for branch", coerce=int, validators=[Optional()])

    def __init__(self, *args, country: str = "US", branches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.country = country
        self.branch_id.choices = [(0, "No branch (church-wide)")] + [(b.id, b.name) for b in branches]

    def validate_e164(self, field: StringField) -> None:
        raw = (field.data or "").strip()
        if self.number_type.data == "short_code":
            digits = "".join(ch for ch in raw if ch.isdigit())
            if not 5 <= len(digits) <= 6:
                raise ValidationError("A short code has 5 or 6 digits.")
            field.data = digits
            return
        try:
            field.data = normalize_phone(raw, self.country)
        except PhoneError as err:
            raise ValidationError(str(err)) from None
