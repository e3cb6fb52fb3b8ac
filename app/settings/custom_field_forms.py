"""The form that defines a custom member field (Settings → Member fields)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from app.models import CustomField
from app.people import custom_fields as cf
from app.people import field_definitions as defs

CHOICES_TEXT_MAX = cf.MAX_CHOICES * (cf.CHOICE_MAX + 2)


class CustomFieldForm(FlaskForm):
    """Name, key and type of a new field; on edit only the name and a choice field's options change."""

    name = StringField("Name", validators=[DataRequired("Give the field a name."), Length(max=cf.NAME_MAX)])
    key = StringField(
        "Key",
        validators=[Length(max=cf.KEY_MAX, message=f"At most {cf.KEY_MAX} characters.")],
        description="Used in merge fields ({campus}), imports and the API. It cannot change later.",
    )
    type = SelectField("Type", choices=list(cf.TYPE_LABELS.items()), default="text")
    choices = TextAreaField(
        "Options",
        validators=[Length(max=CHOICES_TEXT_MAX, message="Too many options.")],
        render_kw={"rows": 5},
        description="For a choice field: one option a line.",
    )

    def __init__(self, *args, church_id: int, existing: CustomField | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.church_id = church_id
        self.existing = existing
        self.clean_key = existing.key if existing else ""
        self.clean_choices: list[str] = list(existing.choices) if existing else []

    @property
    def field_type(self) -> str:
        return self.existing.type if self.existing else self.type.data

    def validate_key(self, field: StringField) -> None:
        if self.existing is not None:
            return  # keys are stable: what merge fields, imports and API clients rely on
        key = (field.data or "").strip() or defs.slugify(self.name.data or "")
        if problem := defs.check_key(self.church_id, key):
            raise ValidationError(problem if field.data else f"{problem} (from the name; type a key)")
        self.clean_key = key

    def validate_type(self, field: SelectField) -> None:
        if self.existing is None and defs.count_fields(self.church_id) >= cf.MAX_FIELDS:
            raise ValidationError(f"A church can have up to {cf.MAX_FIELDS} fields.")

    def validate_choices(self, field: TextAreaField) -> None:
        if self.field_type != "choice":
            return
        try:
            options = defs.clean_choices((field.data or "").splitlines())
        except cf.FieldValueError as err:
            raise ValidationError(str(err)) from None
        if self.existing is not None:
            in_use = defs.choices_in_use(self.existing, set(self.existing.choices) - set(options))
            if in_use:
                raise ValidationError(f"Members still have “{in_use[0]}”; keep it or change theirs first.")
        self.clean_choices = options
