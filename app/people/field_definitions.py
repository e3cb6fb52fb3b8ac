"""Defining a church's custom member fields (Settings → Member fields): keys, options, and the
audited changes. The fields' values and their parsing live in app.people.custom_fields."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from app import audit
from app.errors import PermissionDenied
from app.extensions import db
from app.models import CustomField, MemberFieldValue, User
from app.people.custom_fields import (
    CHOICE_MAX,
    KEY_MAX,
    KEY_RE,
    MAX_CHOICES,
    NAME_MAX,
    RESERVED_KEYS,
    FieldValueError,
    create_field,
    field_by_key,
)


def slugify(name: str) -> str:
    """A key from a name: "Campus (main)" -> "campus_main"."""
    slug = re.sub(r"[^a-z0-9]+", "_", (name or "").lower()).strip("_")[:KEY_MAX].strip("_")
    if slug and not slug[0].isalpha():
        slug = ("f_" + slug)[:KEY_MAX]
    return slug


def clean_choices(lines: Iterable[str]) -> list[str]:
    """Distinct, trimmed, non-empty options in their first order; raises when out of bounds."""
    out: list[str] = []
    for line in lines:
        option = " ".join((line or "").split())
        if not option or option in out:
            continue
        if len(option) > CHOICE_MAX:
            raise FieldValueError(f"Keep each option under {CHOICE_MAX} characters.")
        out.append(option)
    if len(out) > MAX_CHOICES:
        raise FieldValueError(f"At most {MAX_CHOICES} options.")
    if not out:
        raise FieldValueError("List at least one option, one per line.")
    return out


def check_key(church_id: int, key: str) -> str | None:
    """Why `key` cannot be a new field's key in this church, or None."""
    if not KEY_RE.fullmatch(key or ""):
        return "Use lowercase letters, digits and underscores, starting with a letter (at most 40)."
    if key in RESERVED_KEYS:
        return f"{key} is a built-in field; choose another key."
    if field_by_key(church_id, key) is not None:
        return "Another field already uses this key."
    return None


def count_fields(church_id: int) -> int:
    return int(db.session.scalar(select(func.count()).where(CustomField.church_id == church_id)) or 0)


def choices_in_use(field: CustomField, removed: Iterable[str]) -> list[str]:
    """Options about to be removed that members still have."""
    removed = list(removed)
    if not removed:
        return []
    return list(
        db.session.scalars(
            select(MemberFieldValue.value_text)
            .where(MemberFieldValue.field_id == field.id, MemberFieldValue.value_text.in_(removed))
            .distinct()
        )
    )


def values_count(field_id: int) -> int:
    """How many members have a value for the field (the delete page says so)."""
    return int(db.session.scalar(select(func.count()).where(MemberFieldValue.field_id == field_id)) or 0)


def define(actor: User, *, name: str, key: str, type: str, choices: list[str]) -> CustomField:
    """Add a field to the actor's church and record who did."""
    require_admin(actor)
    row = create_field(actor.church_id, name=name, key=key, type=type, choices=choices)
    audit.record("custom_field.created", target=row, actor=actor, detail=_detail(row))
    return row


def change(actor: User, row: CustomField, *, name: str, choices: list[str]) -> CustomField:
    """Rename a field (its key stays) and, for a choice field, set its options."""
    require_admin(actor)
    row.name = name.strip()[:NAME_MAX]
    if row.type == "choice":
        row.choices = choices
    changed = audit.changes(row, ("name", "choices"))
    db.session.flush()
    if changed:
        audit.record("custom_field.changed", target=row, actor=actor, detail={"key": row.key, **changed})
    return row


def remove(actor: User, row: CustomField) -> None:
    """Delete a field and every member's value for it (ON DELETE CASCADE)."""
    require_admin(actor)
    detail = {**_detail(row), "values": values_count(row.id)}
    audit.record("custom_field.deleted", target=row, actor=actor, detail=detail)
    db.session.delete(row)
    db.session.flush()


def require_admin(actor: User) -> None:
    """Owners and admins define fields."""
    if not actor.is_admin:
        raise PermissionDenied("Only owners and admins can change member fields.")


def _detail(row: CustomField) -> dict[str, Any]:
    return {"key": row.key, "name": row.name, "type": row.type}
