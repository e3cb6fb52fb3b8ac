"""Inbox forms: reply, internal note, assignment, status."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.inbox.services import MAX_BODY, STATUSES
from app.security.inputs import parse_id


class ReplyForm(FlaskForm):
    body = TextAreaField("Reply", validators=[DataRequired("Write a message first."), Length(max=MAX_BODY)])


class NewTextForm(FlaskForm):
    body = TextAreaField("Message", validators=[DataRequired("Write a message first."), Length(max=MAX_BODY)])


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
