"""Inbox forms: reply, internal note, assignment, status."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.inbox.services import MAX_BODY, STATUSES


class ReplyForm(FlaskForm):
    body = TextAreaField("Reply", validators=[DataRequired("Write a message first."), Length(max=MAX_BODY)])


class NoteForm(FlaskForm):
    body = TextAreaField("Internal note", validators=[DataRequired("Write the note first."), Length(max=5000)])


class AssignForm(FlaskForm):
    # An id, never more digits than a bigint holds (int() refuses over 4,300 of them).
    assignee_id = SelectField("Assigned to", coerce=str, validate_choice=False, validators=[Length(max=18)])

    def assignee(self) -> int | None:
        """The chosen user id, or None for "unassigned"."""
        raw = (self.assignee_id.data or "").strip()
        return int(raw) if raw.isdigit() and len(raw) <= 18 else None


class StatusForm(FlaskForm):
    status = SelectField("Status", choices=[(s, s.title()) for s in STATUSES])
