"""Forms for the CSV import: the upload, then the column mapping and consent on the preview."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, RadioField, SelectField
from wtforms.validators import DataRequired, InputRequired

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

    def __init__(self, headers: list[str], mapping: dict[str, int], *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [(NOT_IN_FILE, "— not in the file —")]
        choices += [(str(i), h or f"Column {i + 1}") for i, h in enumerate(headers)]
        for name in self.FIELDS:
            select = getattr(self, name)
            select.choices = choices
            if not self.is_submitted() and name in mapping:
                select.data = str(mapping[name])

    def chosen_mapping(self) -> dict[str, int]:
        """Field → column index for the fields the admin mapped."""
        return {name: int(getattr(self, name).data) for name in self.FIELDS if getattr(self, name).data}
