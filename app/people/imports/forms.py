"""Forms for the CSV import: the upload, then the column mapping and consent on the preview."""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, RadioField, SelectField
from wtforms.validators import DataRequired, InputRequired

from app.people.custom_fields import FieldSpec
from app.people.imports.parsing import CUSTOM_PREFIX

NOT_IN_FILE = ""


class UploadForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file to upload.")])


class MappingForm(FlaskForm):
    """Which column holds what; the choices are the file's own headers."""

    first_name = SelectField("First name", default=NOT_IN_FILE)
    last_name = SelectField("Last name", default=NOT_IN_FILE)
    phone = SelectField(
        "Phone", default=NOT_IN_FILE, validators=[DataRequired("Choose the column that holds phone numbers.")]
    )
    email = SelectField("Email", default=NOT_IN_FILE)
    groups = SelectField("Groups", default=NOT_IN_FILE)
    branch = SelectField("Branch", default=NOT_IN_FILE)
    mode = RadioField(
        "Members already in Koinonia (same phone number)",
        choices=[("skip", "Skip them"), ("update", "Update existing members by phone")],
        default="skip",
        validators=[InputRequired()],
    )
    consent = BooleanField(
        "These people agreed to receive texts from us",
        validators=[DataRequired("Confirm that everyone in this file agreed to receive texts from you.")],
    )

    FIELDS = ("first_name", "last_name", "phone", "email", "groups", "branch")

    def __init__(
        self, headers: list[str], mapping: dict[str, int], *args, custom_fields: list[FieldSpec] = (), **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [(NOT_IN_FILE, "— not in the file —")]
        choices += [(str(i), h or f"Column {i + 1}") for i, h in enumerate(headers)]
        self.column_choices = choices
        for name in self.FIELDS:
            select = getattr(self, name)
            select.choices = choices
            if not self.is_submitted() and name in mapping:
                select.data = str(mapping[name])
        # The church's custom fields: one select each, posted as custom_<key>; a value that is no
        # column of the file counts as "not in the file".
        columns = {value for value, _ in choices}
        self.custom_fields = list(custom_fields)
        if self.is_submitted():
            chosen = {f.key: request.form.get(f"custom_{f.key}", NOT_IN_FILE) for f in self.custom_fields}
        else:
            chosen = {f.key: str(mapping.get(CUSTOM_PREFIX + f.key, NOT_IN_FILE)) for f in self.custom_fields}
        self.custom_chosen = {k: v if v in columns else NOT_IN_FILE for k, v in chosen.items()}

    def chosen_mapping(self) -> dict[str, int]:
        """Field → column index for the fields the admin mapped ("custom:<key>" for custom fields)."""
        chosen = {name: int(getattr(self, name).data) for name in self.FIELDS if getattr(self, name).data}
        chosen |= {CUSTOM_PREFIX + key: int(v) for key, v in self.custom_chosen.items() if v != NOT_IN_FILE}
        return chosen
