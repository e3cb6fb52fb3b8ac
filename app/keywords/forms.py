"""The join keyword form: the word (never a consent word, never one the church already has), group, reply."""

from __future__ import annotations

from flask_wtf import FlaskForm
from sqlalchemy import func
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from app import merge
from app.extensions import db
from app.keywords.services import HELP_WORDS, OPT_IN_WORDS, OPT_OUT_WORDS, normalize
from app.models import Group, Keyword
from app.security.inputs import parse_id
from app.tenancy import get_or_404, scoped

RESERVED = OPT_OUT_WORDS | OPT_IN_WORDS | HELP_WORDS


class KeywordForm(FlaskForm):
    word = StringField("Keyword", validators=[DataRequired("Enter the word members text."), Length(max=64)])
    group_id = SelectField("Adds the sender to", coerce=str, validators=[Optional()])
    auto_reply = TextAreaField("Auto-reply", validators=[Optional(), Length(max=480)])

    def __init__(self, *args, keyword_id: int | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.keyword_id = keyword_id
        groups = db.session.execute(scoped(Group).order_by(Group.name)).scalars()
        self.group_id.choices = [("", "No group (auto-reply only)")] + [(str(g.id), g.name) for g in groups]

    def validate_word(self, field: StringField) -> None:
        word = normalize(field.data)
        if word in RESERVED:
            raise ValidationError(f"{word} is reserved for opt-out, opt-in and help.")
        clash = scoped(Keyword).where(func.upper(func.trim(Keyword.word)) == word)
        if self.keyword_id is not None:
            clash = clash.where(Keyword.id != self.keyword_id)
        if db.session.scalar(clash) is not None:
            raise ValidationError(f"{word} is already a keyword.")
        field.data = word

    def validate_auto_reply(self, field: TextAreaField) -> None:
        if problem := merge.check_fields(field.data or ""):
            raise ValidationError(problem)

    def apply(self, keyword: Keyword) -> None:
        keyword.word = self.word.data
        keyword.group_id = parse_id(self.group_id.data)
        keyword.auto_reply = (self.auto_reply.data or "").strip() or None
        if keyword.group_id is not None:
            get_or_404(Group, keyword.group_id)
