"""Composer and template forms. Checks that need the church (its timezone, its groups) live here too."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    Field,
    HiddenField,
    IntegerField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from app import merge
from app.broadcasts import drafts
from app.broadcasts.audience import decode_filters
from app.broadcasts.schedules import WEEKDAY_NAMES, WEEKDAYS, Recurrence, local_to_utc
from app.merge import TITLE_MAX
from app.security.inputs import parse_ids

MAX_BODY = 1600  # ten GSM-7 segments; providers refuse longer
MAX_MEDIA = drafts.MAX_MEDIA
MAX_MEDIA_TEXT = MAX_MEDIA * 2049  # ten links of up to 2,048 characters, one a line
MAX_PEOPLE = 1000  # member chips one composer may add


class CheckboxListField(SelectMultipleField):
    """Several checkboxes for one multi-valued field."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class IntListField(Field):
    """Repeated hidden inputs (the member chips): any number of integer ids."""

    widget = HiddenInput()

    def _value(self) -> str:
        return ""

    def process_formdata(self, valuelist: list[str]) -> None:
        # One past the limit is enough to refuse.
        self.data = parse_ids(valuelist, MAX_PEOPLE + 1)

    def pre_validate(self, form) -> None:
        if len(self.data or []) > MAX_PEOPLE:
            raise ValidationError(f"At most {MAX_PEOPLE:,} people; pick a group instead.")

    def process_data(self, value) -> None:
        self.data = list(value or [])


class ComposerForm(FlaskForm):
    """Everything the composer posts: body, media, audience, timing and the idempotency key."""

    body = TextAreaField(
        "Message",
        validators=[
            DataRequired("Write the message first."),
            Length(max=MAX_BODY, message="At most 1,600 characters."),
        ],
    )
    title = StringField(
        "Title (optional)",
        validators=[Optional(), Length(max=TITLE_MAX, message=f"At most {TITLE_MAX} characters.")],
    )
    media_urls = TextAreaField(
        "Picture or file links (MMS)",
        validators=[Optional(), Length(max=MAX_MEDIA_TEXT, message=f"At most {MAX_MEDIA} links.")],
    )
    # Offered when the body holds a link: each recipient's text then carries its own short link.
    track_links = BooleanField("Track links")
    everyone = BooleanField("Everyone")
    group_ids = CheckboxListField("Groups", coerce=int, validate_choice=False)
    branch_ids = CheckboxListField("Branches", coerce=int, validate_choice=False)
    member_ids = IntListField("People")
    # Custom field filters, encoded by app.broadcasts.audience.encode_filter ("12:is:North").
    field_filters = CheckboxListField("Only members where", validate_choice=False)
    when = RadioField(
        "When",
        choices=[("now", "Send now"), ("later", "Schedule"), ("repeat", "Repeat")],
        default="now",
    )
    send_date = DateField("Date", validators=[Optional()])
    send_time = TimeField("Time", validators=[Optional()])
    repeat_freq = RadioField("Repeat", choices=[("weekly", "Weekly"), ("monthly", "Monthly")], default="weekly")
    weekdays = CheckboxListField("On", choices=[(d, WEEKDAY_NAMES[d]) for d in WEEKDAYS], validate_choice=False)
    month_day = IntegerField("Day of the month", validators=[Optional(), NumberRange(1, 31, "A day from 1 to 31.")])
    until = DateField("Until (optional)", validators=[Optional()])
    idempotency_key = HiddenField(validators=[Length(max=64)])

    def check_bounds(self) -> bool:
        """Field errors for what is too long or out of range, before anything reads the values.

        The composer's live endpoints (counter, audience, smart quotes) never run validate(), yet
        they summarise the draft; an over-long body or a month day of 10**8 must stop here.
        """
        bounded = [self.body, self.title, self.media_urls, self.month_day, self.member_ids, self.idempotency_key]
        for field in bounded:
            if field.data is None:
                continue
            for check in field.validators:
                if isinstance(check, Length | NumberRange):
                    try:
                        check(self, field)
                    except ValidationError as error:
                        if str(error) not in field.errors:
                            field.errors = [*field.errors, str(error)]
        try:
            self.member_ids.pre_validate(self)
        except ValidationError as error:
            if str(error) not in self.member_ids.errors:
                self.member_ids.errors = [*self.member_ids.errors, str(error)]
        return not any(field.errors for field in bounded)

    def usable_body(self) -> str:
        """The body as far as the composer will count and check it: never past MAX_BODY characters."""
        return (self.body.data or "")[:MAX_BODY]

    def media_list(self) -> list[str]:
        text = (self.media_urls.data or "")[:MAX_MEDIA_TEXT]
        return [line.strip() for line in text.splitlines() if line.strip()]

    def audience_dict(self) -> dict:
        return {
            "everyone": bool(self.everyone.data),
            "group_ids": list(self.group_ids.data or []),
            "branch_ids": list(self.branch_ids.data or []),
            "member_ids": list(self.member_ids.data or []),
            "filters": decode_filters(self.field_filters.data or []),
        }

    def validate_media_urls(self, field: TextAreaField) -> None:
        if problem := drafts.media_problem(self.media_list()):
            raise ValidationError(problem)

    def check_timing(self, tz: str, now: datetime | None = None, *, live: bool = False) -> None:
        """Field errors for the chosen timing, in the church's timezone (call after validate()).

        `live` is the check made while the person is still choosing: it speaks only of values
        given (a time that has passed), not of those not picked yet.
        """
        now = now or datetime.now(UTC)
        for field in (self.send_date, self.send_time, self.until, self.weekdays, self.month_day):
            field.errors = list(field.errors)  # a tuple until validate() has run
        if self.when.data == "later":
            if not self.send_date.data and not live:
                self.send_date.errors.append("Pick a date.")
            if not self.send_time.data and not live:
                self.send_time.errors.append("Pick a time.")
            if self.send_date.data and self.send_time.data and self.scheduled_at(tz) <= now:
                self.send_time.errors.append("That time has passed; pick a time in the future.")
        elif self.when.data == "repeat":
            if not self.send_time.data and not live:
                self.send_time.errors.append("Pick the time it goes out.")
            if self.until.data and self.until.data < self.start_date(tz):
                self.until.errors.append("The end date is before the first run.")
            if self.repeat_freq.data == "weekly" and not self.weekdays.data and not live:
                self.weekdays.errors.append("Pick at least one day.")
            if self.repeat_freq.data == "monthly" and not self.month_day.data and not live:
                self.month_day.errors.append("Pick a day of the month.")

    def start_date(self, tz: str) -> date:
        return self.send_date.data or datetime.now(ZoneInfo(tz)).date()

    def scheduled_at(self, tz: str) -> datetime | None:
        """The UTC instant of a one-off scheduled send."""
        if self.when.data != "later" or not (self.send_date.data and self.send_time.data):
            return None
        return local_to_utc(self.send_date.data, self.send_time.data, tz)

    def recurrence(self, tz: str) -> Recurrence | None:
        """The repeat choice as a Recurrence in local wall-clock time."""
        if self.when.data != "repeat" or not self.send_time.data:
            return None
        if self.month_day.data is not None and not 1 <= self.month_day.data <= 31:
            return None
        start = datetime.combine(self.start_date(tz), self.send_time.data or time(9, 0))
        return Recurrence(
            freq=self.repeat_freq.data or "weekly",
            start=start,
            until=self.until.data,
            weekdays=tuple(self.weekdays.data or ()),
            month_day=self.month_day.data,
        )

    @property
    def has_errors(self) -> bool:
        return any(f.errors for f in self)


class TemplateForm(FlaskForm):
    """A saved message body."""

    name = StringField("Name", validators=[DataRequired("Give the template a name."), Length(max=200)])
    body = TextAreaField("Message", validators=[DataRequired("Write the message."), Length(max=MAX_BODY)])

    def __init__(self, *args, custom_keys: tuple[str, ...] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.custom_keys = custom_keys  # the church's custom fields are merge fields too

    def validate_body(self, field: TextAreaField) -> None:
        if problem := merge.check_fields(field.data or "", self.custom_keys):
            raise ValidationError(problem)
