"""A church's custom member fields: definitions, typed values, and reading/writing them set-based.

Every value passes `parse_value` (the form, the CSV import and the API share it), so what reaches
`member_field_values` is always of the field's type and within bounds. Reads and writes take the
church's id and only ever touch that church's fields: a key or field id of another church is
simply not found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from app.extensions import db
from app.merge import FIELDS as BUILT_IN_MERGE_FIELDS
from app.models import CustomField, MemberFieldValue
from app.models.custom_fields import FIELD_TYPES

MAX_FIELDS = 30
MAX_CHOICES = 50
CHOICE_MAX = 100
NAME_MAX = 80
KEY_MAX = 40
TEXT_MAX = 200
NUMBER_LIMIT = Decimal("1e14")  # numeric(18, 4)
KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
TYPE_LABELS = {"text": "Text", "number": "Number", "date": "Date", "choice": "Choice"}
# Keys that would shadow a member column or a built-in merge field.
RESERVED_KEYS = frozenset(
    {*BUILT_IN_MERGE_FIELDS, "id", "phone", "email", "opted_out", "branch", "groups", "language", "notes"}
)
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")


class FieldValueError(ValueError):
    """A value that does not fit its field; the message is shown next to the field."""


@dataclass(frozen=True)
class FieldSpec:
    """A definition as plain values (what forms, the import and the API work from)."""

    id: int
    key: str
    name: str
    type: str
    choices: tuple[str, ...]


def _spec(row: CustomField) -> FieldSpec:
    return FieldSpec(row.id, row.key, row.name, row.type, tuple(row.choices or ()))


def church_fields(church_id: int) -> list[FieldSpec]:
    """The church's fields in the order it shows them."""
    rows = db.session.scalars(
        select(CustomField).where(CustomField.church_id == church_id).order_by(CustomField.position, CustomField.id)
    )
    return [_spec(r) for r in rows]


def field_by_key(church_id: int, key: str) -> FieldSpec | None:
    """One of the church's fields by key (None for unknown keys and other churches' keys)."""
    row = db.session.scalar(select(CustomField).where(CustomField.church_id == church_id, CustomField.key == key))
    return _spec(row) if row else None


def create_field(church_id: int, *, name: str, key: str, type: str, choices: list[str]) -> CustomField:
    """Add a definition (already validated by the settings form)."""
    if type not in FIELD_TYPES:
        raise FieldValueError("Choose a type.")
    position = db.session.scalar(
        select(func.coalesce(func.max(CustomField.position), 0) + 1).where(CustomField.church_id == church_id)
    )
    row = CustomField(
        church_id=church_id,
        name=name.strip()[:NAME_MAX],
        key=key,
        type=type,
        choices=choices if type == "choice" else [],
        position=position,
    )
    db.session.add(row)
    db.session.flush()
    return row


# --- values -------------------------------------------------------------------------------------


def parse_value(field: FieldSpec, raw: Any) -> str | Decimal | date | None:
    """The typed value of `raw` for the field, None for blank; FieldValueError when it does not fit."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise FieldValueError("Not a valid value.")
    if field.type == "number":
        if isinstance(raw, (int, float, Decimal)):
            text = str(raw)
        else:
            text = str(raw).strip().replace(",", "")
        if not text:
            return None
        if len(text) > 30:
            raise FieldValueError("Enter a number.")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise FieldValueError("Enter a number, like 12 or 3.5.") from None
        if not number.is_finite() or abs(number) >= NUMBER_LIMIT:
            raise FieldValueError("Enter a smaller number.")
        return number.quantize(Decimal("0.0001"))
    if not isinstance(raw, str):
        raise FieldValueError("Not a valid value.")
    text = " ".join(raw.split()) if field.type != "text" else raw.strip()
    if not text:
        return None
    if field.type == "date":
        return _parse_date(text)
    if field.type == "choice":
        folded = {c.casefold(): c for c in field.choices}
        if text.casefold() not in folded:
            raise FieldValueError(f"Choose one of: {', '.join(field.choices)}.")
        return folded[text.casefold()]
    if len(text) > TEXT_MAX:
        raise FieldValueError(f"At most {TEXT_MAX} characters.")
    return text


def _parse_date(text: str) -> date:
    if len(text) <= 10:
        for fmt in DATE_FORMATS:
            try:
                return datetime.strptime(text, fmt).date()
            except ValueError:
                continue
    raise FieldValueError("Enter a date like 2024-03-14.")


def display(value: Any) -> str:
    """A value as pages, CSV and merge fields show it."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def as_json(value: Any) -> Any:
    """A value for the API: numbers as numbers, dates as ISO strings."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _columns(field_type: str, value: Any) -> dict[str, Any]:
    column = {"number": "value_number", "date": "value_date"}.get(field_type, "value_text")
    return {"value_text": None, "value_number": None, "value_date": None, column: value}


def write_values(church_id: int, member_id: int, values: Mapping[int, Any], fields: Iterable[FieldSpec]) -> None:
    """Save one member's values (field id -> typed value, None clears); other fields are untouched."""
    by_id = {f.id: f for f in fields}
    keep = [
        {"church_id": church_id, "member_id": member_id, "field_id": fid, **_columns(by_id[fid].type, v)}
        for fid, v in values.items()
        if fid in by_id and v is not None
    ]
    cleared = [fid for fid, v in values.items() if fid in by_id and v is None]
    if cleared:
        db.session.execute(
            delete(MemberFieldValue).where(
                MemberFieldValue.church_id == church_id,
                MemberFieldValue.member_id == member_id,
                MemberFieldValue.field_id.in_(cleared),
            )
        )
    if keep:
        stmt = insert(MemberFieldValue).values(keep)
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["member_id", "field_id"],
                set_={c: stmt.excluded[c] for c in ("value_text", "value_number", "value_date")},
            )
        )


def member_values(church_id: int, member_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """member id -> {key: typed value} for the members' set values (one statement for a page)."""
    ids = list(member_ids)
    out: dict[int, dict[str, Any]] = {i: {} for i in ids}
    if not ids:
        return out
    rows = db.session.execute(
        select(
            MemberFieldValue.member_id,
            CustomField.key,
            MemberFieldValue.value_text,
            MemberFieldValue.value_number,
            MemberFieldValue.value_date,
        )
        .join(CustomField, CustomField.id == MemberFieldValue.field_id)
        .where(MemberFieldValue.church_id == church_id, MemberFieldValue.member_id.in_(ids))
    )
    for member_id, key, text, number, day in rows:
        out[member_id][key] = next(v for v in (text, number, day) if v is not None)
    return out


# --- merge fields -------------------------------------------------------------------------------

ESTIMATE_TEXT = "Something typical"  # a text field's value when counting segments before sending
ESTIMATE_OTHER = {"number": "1250", "date": "2024-03-14"}


@dataclass(frozen=True)
class MergeFields:
    """A church's custom fields as app.merge needs them: keys, typical values and placeholders."""

    keys: tuple[str, ...]
    estimates: dict[str, str]
    placeholders: dict[str, str]


def merge_fields(church_id: int) -> MergeFields:
    """The church's custom merge fields ({campus|...}), read once per page or batch."""
    fields = church_fields(church_id)
    estimates = {f.key: ESTIMATE_OTHER.get(f.type, ESTIMATE_TEXT) for f in fields}
    # A choice is as long as its longest option.
    estimates |= {f.key: max(f.choices, key=len) for f in fields if f.type == "choice" and f.choices}
    return MergeFields(
        keys=tuple(f.key for f in fields),
        estimates=estimates,
        placeholders={f.key: f"[{f.name.lower()}]" for f in fields},
    )


def member_merge_values(church_id: int, member_id: int | None) -> dict[str, str]:
    """One member's custom values as merge text."""
    if member_id is None:
        return {}
    return {k: display(v) for k, v in member_values(church_id, [member_id]).get(member_id, {}).items()}


def labelled_values(church_id: int, member_id: int) -> list[tuple[FieldSpec, Any]]:
    """Every field of the church with the member's value (None when unset), for the member page."""
    values = member_values(church_id, [member_id])[member_id]
    return [(spec, values.get(spec.key)) for spec in church_fields(church_id)]
