"""Inbox forms: reply, internal note, assignment, status."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.inbox.services import MAX_BODY, STATUSES
from app.media import MAX_URL
from app.security.inputs import parse_id


class _Picture:
    """A picture to send with the text (MMS): a JPEG, PNG or GIF upload, or an https:// link."""

    picture = FileField("Picture (JPEG, PNG or GIF, up to 1 MB)")
    media_url = StringField("or a picture link", validators=[Length(max=MAX_URL)])

    def has_picture(self) -> bool:
        return bool(getattr(self.picture.data, "filename", "") or (self.media_url.data or "").strip())


class ReplyForm(_Picture, FlaskForm):
    # A picture alone is a message too: services.reply refuses a reply with neither.
    body = TextAreaField("Reply", validators=[Length(max=MAX_BODY)])


class NewTextForm(_Picture, FlaskForm):
    body = TextAreaField("Message", validators=[Length(max=MAX_BODY)])


class NoteForm(FlaskForm):
    body = TextAreaField("Internal note", validators=[DataRequired("Write the note first."), Length(max=5000)])


class AssignForm(FlaskForm):
    # An id, never more digits than a bigint holds (int() refuses over 4,300 of them).
    assignee_id = SelectField("Assigned to", coerce=str, validate_choice=False, validators=[Length(max=18)])

    def assignee(self) -> int | None:
        """The chosen user id, or None for "unassigned"."""
        return parse_id(self.assignee_id.data)


class StatusForm(FlaskForm):
    status = SelectField("Status", choices=[(s, s.title()) for s in STATUSES])
