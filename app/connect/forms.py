"""The public card form (built from the church's settings) and the settings form."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app
from flask_wtf import FlaskForm
from itsdangerous import BadData, URLSafeTimedSerializer
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.csrf.core import CSRF
from wtforms.fields import SelectMultipleField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.people.phones import PHONE_MAX, PHONE_TOO_LONG, PhoneError, normalize_phone

MAX_QUESTIONS = 5
QUESTION_MAX = 120
ANSWER_MAX = 300
INTRO_MAX = 1000
MAX_ORIGINS = 5
ORIGIN_MAX = 200
# How long a card page stays valid to send; a stale tab asks for a reload.
CARD_TOKEN_AGE = 6 * 3600


class MultiCheckboxField(SelectMultipleField):
    """Checkboxes for a multiple choice (no JavaScript, no select box on a phone)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CardCSRF(CSRF):
    """A token signed for this church's card, kept in the page rather than a cookie.

    The card may be framed by the church's own site, where browsers do not send our
    SameSite=Lax session cookie, so the session-bound token of every other form could never
    match there. This token proves the post came from a card page we served, for this church,
    within CARD_TOKEN_AGE; the limits and the honeypot do the rest against bots.
    """

    def setup_form(self, form):
        self.slug = form.meta.csrf_context
        return super().setup_form(form)

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="connect-card")

    def generate_csrf_token(self, csrf_token_field) -> str:
        return self._serializer().dumps(self.slug)

    def validate_csrf_token(self, form, field) -> None:
        try:
            slug = self._serializer().loads(field.data or "", max_age=CARD_TOKEN_AGE)
        except BadData:
            raise ValidationError("This page has expired. Reload it and send the card again.") from None
        if slug != self.slug:
            raise ValidationError("This page has expired. Reload it and send the card again.")


class CardForm(FlaskForm):
    """What a person fills in; the church's questions and groups are added per card."""

    class Meta:
        # On even where the app's session tokens are off (tests): this one needs no session.
        csrf = True
        csrf_class = CardCSRF

    first_name = StringField(
        "First name",
        validators=[DataRequired("Enter your first name."), Length(max=100, message="At most 100 characters.")],
    )
    last_name = StringField("Last name", validators=[Optional(), Length(max=100, message="At most 100 characters.")])
    phone = StringField(
        "Mobile phone",
        validators=[DataRequired("Enter your mobile number."), Length(max=PHONE_MAX, message=PHONE_TOO_LONG)],
    )
    email = StringField(
        "Email",
        validators=[
            Optional(),
            Length(max=320, message="At most 320 characters."),
            Email("Enter a valid email address."),
        ],
    )
    groups = MultiCheckboxField("I'd like to join", coerce=int, validate_choice=True)
    consent = BooleanField()
    # A honeypot: hidden from people (CSS and aria-hidden), filled in by form-filling bots.
    website = StringField("Leave this empty", validators=[Length(max=200)])

    def __init__(self, *args, country: str = "US", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.country = country
        self.phone_e164: str | None = None
        self.answer_fields = [f for name, f in self._fields.items() if name.startswith("answer_")]

    def validate_phone(self, field: StringField) -> None:
        try:
            self.phone_e164 = normalize_phone(field.data, self.country)
        except PhoneError as err:
            raise ValidationError(str(err)) from None

    def answers(self) -> list[dict[str, str]]:
        """The church's questions with what was typed (blank answers kept out)."""
        return [
            {"question": f.label.text, "answer": f.data.strip()} for f in self.answer_fields if (f.data or "").strip()
        ]


def card_form(slug: str, country: str, questions: list[str], groups: list[tuple[int, str]]) -> CardForm:
    """The card form for one church: its questions as fields, its groups as choices."""

    class ChurchCardForm(CardForm):
        pass

    for i, question in enumerate(questions[:MAX_QUESTIONS]):
        validators = [Optional(), Length(max=ANSWER_MAX, message=f"At most {ANSWER_MAX} characters.")]
        setattr(ChurchCardForm, f"answer_{i}", StringField(question, validators=validators))
    form = ChurchCardForm(country=country, meta={"csrf_context": slug})
    form.groups.choices = groups
    return form


def parse_origins(text: str | None) -> list[str]:
    """Origins the card may be framed by, one a line; ValueError naming the first bad one."""
    origins: list[str] = []
    for line in (text or "").splitlines():
        raw = line.strip()
        if not raw:
            continue
        if len(raw) > ORIGIN_MAX:
            raise ValueError(f"“{raw[:40]}…” is too long for a web address.")
        parts = urlsplit(raw)
        host = parts.hostname or ""
        if (
            parts.scheme != "https"
            or not host
            or parts.username
            or parts.password
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or not all(c.isalnum() or c in ".-" for c in host)
        ):
            raise ValueError(f"“{raw}” is not a site address like https://www.example.org.")
        origin = f"https://{host}" + (f":{parts.port}" if parts.port else "")
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise ValueError(f"At most {MAX_ORIGINS} sites.")
    return origins


class CardSettingsForm(FlaskForm):
    """Settings → Connect card."""

    enabled = BooleanField("The card is open: anyone with the link can fill it in")
    intro = TextAreaField(
        "Welcome text", validators=[Optional(), Length(max=INTRO_MAX, message=f"At most {INTRO_MAX} characters.")]
    )
    # question_0 … question_4 are added below, one field per question.
    groups = MultiCheckboxField("Groups people may join from the card", coerce=int, validate_choice=True)
    frequency = StringField(
        "Message frequency",
        validators=[
            DataRequired("Say how often you text, e.g. Up to 4 msgs/month."),
            Length(max=60, message="At most 60 characters."),
        ],
    )
    origins = TextAreaField(
        "Sites that may embed the card", validators=[Length(max=MAX_ORIGINS * (ORIGIN_MAX + 2), message="Too long.")]
    )
    parsed_origins: list[str] = []

    def question_fields(self) -> list[StringField]:
        return [getattr(self, f"question_{i}") for i in range(MAX_QUESTIONS)]

    def questions(self) -> list[str]:
        return [" ".join(f.data.split()) for f in self.question_fields() if (f.data or "").strip()]

    def validate_frequency(self, field: StringField) -> None:
        if not any(c.isdigit() for c in field.data or ""):
            raise ValidationError("Carriers ask for a number, e.g. Up to 4 msgs/month.")

    def validate_origins(self, field: TextAreaField) -> None:
        try:
            self.parsed_origins = parse_origins(field.data)
        except ValueError as err:
            raise ValidationError(str(err)) from None


for _i in range(MAX_QUESTIONS):
    setattr(
        CardSettingsForm,
        f"question_{_i}",
        StringField(
            f"Question {_i + 1}",
            validators=[Optional(), Length(max=QUESTION_MAX, message=f"At most {QUESTION_MAX} characters.")],
        ),
    )
