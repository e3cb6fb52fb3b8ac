"""Merge fields in message bodies: {first_name}, {last_name}, {church_name}, with fallbacks.

`{first_name|friend}` renders the member's first name, or "friend" when it is blank. A church's
custom fields are merge fields too, by key (`{campus|our church}`): callers pass the church's
keys (`custom_keys`) and each member's values, since this module knows no church. Unknown
fields are left as typed, so a stray brace in a message is never silently eaten.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

FIELDS = ("first_name", "last_name", "church_name")
# Any name that could be a field key (custom keys are lowercase slugs); which ones are real is
# decided per church, so a brace-name that is no field is left as typed.
MERGE_RE = re.compile(r"\{\s*([a-z][a-z0-9_]{0,39})\s*(?:\|([^{}]*))?\}")
# Anything that looks like a merge field: a name in braces, with or without a fallback.
LOOKS_LIKE_FIELD_RE = re.compile(r"\{\s*([A-Za-z_]\w{0,40})\s*(?:\|[^{}]*)?\}")
# What a merge field looks like where no one person is meant: lists, labels, previews.
PLACEHOLDERS = {"first_name": "[first name]", "last_name": "[last name]", "church_name": "[church name]"}
TITLE_MAX = 80
TITLE_WORDS = 8
# Used to estimate segments before the recipients are known: a longish real name.
ESTIMATE_VALUES = {"first_name": "Jonathan", "last_name": "Richardson"}


def _known(custom_keys: Iterable[str] = ()) -> set[str]:
    return {*FIELDS, *custom_keys}


def has_fields(body: str, custom_keys: Iterable[str] = ()) -> bool:
    """True when the body contains at least one merge field."""
    known = _known(custom_keys)
    return any(m.group(1) in known for m in MERGE_RE.finditer(body or ""))


def unknown_fields(body: str, custom_keys: Iterable[str] = ()) -> list[str]:
    """Braced names that are not merge fields ("{firstname}"): they would reach members as typed."""
    known = _known(custom_keys)
    names = (m.group(1) for m in LOOKS_LIKE_FIELD_RE.finditer(body or ""))
    return list(dict.fromkeys(n for n in names if n not in known))


def check_fields(body: str, custom_keys: Iterable[str] = ()) -> str | None:
    """A sentence for the form field when the body names an unknown merge field, else None."""
    keys = list(custom_keys)
    unknown = unknown_fields(body, keys)
    if not unknown:
        return None
    known = ", ".join("{" + f + "}" for f in (*FIELDS, *keys))
    return f"{{{unknown[0]}}} is not a merge field. Use {known}."


def fields_used(body: str, custom_keys: Iterable[str] = ()) -> list[str]:
    """The merge fields a body uses, in order of first appearance."""
    known = _known(custom_keys)
    return list(dict.fromkeys(m.group(1) for m in MERGE_RE.finditer(body or "") if m.group(1) in known))


def render_values(body: str, values: Mapping[str, str | None], custom_keys: Iterable[str] = ()) -> str:
    """Render `body` with plain values (missing or blank values take the field's fallback).

    A name is a field when it is built in, one of `custom_keys`, or a key of `values`.
    """
    if "{" not in body:
        return body
    known = {*_known(custom_keys), *values}

    def sub(match: re.Match[str]) -> str:
        if match.group(1) not in known:
            return match.group(0)
        value = (values.get(match.group(1)) or "").strip()
        return value or (match.group(2) or "").strip()

    return MERGE_RE.sub(sub, body)


def values_for(member: Any, church: Any, custom: Mapping[str, str | None] | None = None) -> dict[str, str | None]:
    """The merge values of a member (any object with first/last name), a church and the member's custom values."""
    return {
        **(custom or {}),
        "first_name": getattr(member, "first_name", None) if member is not None else None,
        "last_name": getattr(member, "last_name", None) if member is not None else None,
        "church_name": getattr(church, "name", None) if church is not None else None,
    }


def render(
    body: str,
    member: Any,
    church: Any,
    custom: Mapping[str, str | None] | None = None,
    custom_keys: Iterable[str] = (),
) -> str:
    """The text one member receives: merge fields filled from the member, the church and custom values."""
    return render_values(body, values_for(member, church, custom), custom_keys)


def estimate(body: str, church: Any, custom: Mapping[str, str] | None = None) -> str:
    """The body as a typical member would receive it, for counting segments before sending.

    `custom` holds a typical value per custom field (its longest option, a date's length).
    """
    return render_values(body, {**(custom or {}), **ESTIMATE_VALUES, "church_name": getattr(church, "name", None)})


def placeholders(body: str, church_name: str | None = None, custom: Mapping[str, str] | None = None) -> str:
    """The body with readable placeholders ("Hi [first name]!"), the church's name filled in when known."""
    labels = {**(custom or {}), **PLACEHOLDERS, "church_name": church_name or PLACEHOLDERS["church_name"]}
    return render_values(body or "", labels)


def default_title(body: str, church_name: str | None = None) -> str:
    """The first words of a body, placeholders shown: what a message without a title is listed as."""
    words = placeholders(body, church_name).split()
    title = " ".join(words[:TITLE_WORDS])
    if len(title) > TITLE_MAX - 1:
        title = title[: TITLE_MAX - 1].rstrip()
    return title + ("…" if len(words) > TITLE_WORDS or len(title) < len(" ".join(words)) else "")


def label(title: str | None, body: str, church_name: str | None = None) -> str:
    """A message's name in lists: its title, or its first words."""
    return (title or "").strip() or default_title(body, church_name)
