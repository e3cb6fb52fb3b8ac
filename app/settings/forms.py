"""Forms for the settings pages: the church itself, branches and their sending numbers."""

from __future__ import annotations

from datetime import time
from functools import cache

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app import merge
from app.models.tenancy import NUMBER_TYPES
from app.people.phones import PHONE_MAX, PHONE_TOO_LONG, PhoneError, normalize_phone
from app.settings.services import timezones

NUMBER_TYPE_LABELS = {"long_code": "Local number (10DLC)", "toll_free": "Toll-free", "short_code": "Short code"}


class BranchForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the branch a name."), Length(max=200)])
    address = TextAreaField("Address", validators=[Optional(), Length(max=1000)], render_kw={"rows": 3})


class NumberForm(FlaskForm):
    """A sending number; short codes are digits only, everything else is parsed to E.164."""

    e164 = StringField(
        "Number",
        validators=[DataRequired("Enter the number."), Length(max=PHONE_MAX, message=PHONE_TOO_LONG)],
        render_kw={"type": "tel"},
    )
    number_type = SelectField("Type", choices=[(t, NUMBER_TYPE_LABELS[t]) for t in NUMBER_TYPES])
    branch_id = SelectField("Sends for branch", coerce=int, validators=[Optional()])

    def __init__(self, *args, country: str = "US", branches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.country = country
        self.branch_id.choices = [(0, "No branch (church-wide)")] + [(b.id, b.name) for b in branches]

    def validate_e164(self, field: StringField) -> None:
        raw = (field.data or "").strip()
        if len(raw) > PHONE_MAX:
            return  # Length said so; nothing parses text this long
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


# Most churches on Koinonia are in the US: their zones lead the list, by name people know.
COMMON_TIMEZONES = {
    "America/New_York": "Eastern (New York)",
    "America/Chicago": "Central (Chicago)",
    "America/Denver": "Mountain (Denver)",
    "America/Phoenix": "Arizona (Phoenix)",
    "America/Los_Angeles": "Pacific (Los Angeles)",
    "America/Anchorage": "Alaska (Anchorage)",
    "Pacific/Honolulu": "Hawaii (Honolulu)",
}
HELP_TEXT_MAX = 300
DEFAULT_QUIET_HOURS = (time(21, 0), time(8, 0))


@cache
def timezone_choices() -> dict[str, list[tuple[str, str]]]:
    """The zone select: common US zones first, then every zone sorted (each listed once)."""
    common = [(z, label) for z, label in COMMON_TIMEZONES.items() if z in timezones()]
    rest = sorted(timezones() - COMMON_TIMEZONES.keys())
    return {"United States": common, "All time zones": [(z, z.replace("_", " ")) for z in rest]}


class ChurchForm(FlaskForm):
    """The church's own settings; quiet hours are both times or none (NULL)."""

    name = StringField(
        "Church name",
        validators=[DataRequired("Give the church a name."), Length(max=200, message="At most 200 characters.")],
    )
    timezone = SelectField("Time zone", validate_choice=False)
    quiet_hours = BooleanField("Hold broadcasts during quiet hours")
    # Browsers send HH:MM, or HH:MM:SS when an input has a seconds step.
    quiet_hours_start = TimeField("Quiet from", validators=[Optional()], format=["%H:%M", "%H:%M:%S"])
    quiet_hours_end = TimeField("Until", validators=[Optional()], format=["%H:%M", "%H:%M:%S"])
    help_text = TextAreaField(
        "Reply to HELP and INFO",
        validators=[
            Optional(),
            Length(max=HELP_TEXT_MAX, message=f"At most {HELP_TEXT_MAX} characters; keep it to one or two texts."),
        ],
        render_kw={"rows": 3},
    )
    leaders_can_send = BooleanField("Leaders may send broadcasts to the groups they lead")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()

    def fill_from(self, church) -> None:
        """On first show: the quiet hours switch follows the church; empty times show the defaults."""
        self.quiet_hours.data = church.quiet_hours_start is not None and church.quiet_hours_end is not None
        if not self.quiet_hours.data:
            self.quiet_hours_start.data, self.quiet_hours_end.data = DEFAULT_QUIET_HOURS

    def validate_help_text(self, field: TextAreaField) -> None:
        if problem := merge.check_fields(field.data or ""):
            raise ValidationError(problem)

    def validate_timezone(self, field: SelectField) -> None:
        if field.data not in timezones():
            raise ValidationError("Choose a time zone from the list.")

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        start, end = self.quiet_hours_start, self.quiet_hours_end
        if not self.quiet_hours.data:
            # The times are ignored when quiet hours are off; a half-typed one must not block saving.
            start.errors, end.errors = [], []
        else:
            if start.data is None and not start.errors:
                start.errors.append("Enter when quiet hours start.")
            if end.data is None and not end.errors:
                end.errors.append("Enter when quiet hours end.")
            if start.data is not None and start.data == end.data:
                end.errors.append("Quiet hours must end at a different time than they start.")
        return not self.errors

    def quiet_hours_times(self) -> tuple[time, time] | None:
        """(start, end) when quiet hours are on, else None (stored as NULL)."""
        if not self.quiet_hours.data:
            return None
        return self.quiet_hours_start.data, self.quiet_hours_end.data


class NumberSearchForm(FlaskForm):
    """Find a number to buy: local ones by area code, or toll-free ones (read from the query string)."""

    class Meta:
        csrf = False  # a search changes nothing

    kind = SelectField("Kind", choices=[("local", "Local, in an area code"), ("toll_free", "Toll-free")])
    area_code = StringField(
        "Area code",
        validators=[Length(max=3, message="An area code has 3 digits.")],
        render_kw={"inputmode": "numeric", "autocomplete": "off", "size": 4},
    )

    def validate_area_code(self, field: StringField) -> None:
        code = (field.data or "").strip()
        if self.kind.data == "toll_free":
            field.data = None
            return
        if not code:
            raise ValidationError("Enter the 3-digit area code to search in, e.g. 312.")
        if not (len(code) == 3 and code.isdigit() and code[0] not in "01"):
            raise ValidationError("An area code has 3 digits and does not start with 0 or 1, e.g. 312.")
        field.data = code


class NumberOrderForm(FlaskForm):
    """Buy one of the numbers a search offered."""

    phone_number = StringField(validators=[DataRequired(), Length(max=PHONE_MAX)])
    kind = SelectField(choices=[("local", "local"), ("toll_free", "toll_free")])
