"""Merge fields in message bodies: {first_name}, {last_name}, {church_name}, with fallbacks.

`{first_name|friend}` renders the member's first name, or "friend" when it is blank. Unknown
fields are left as typed, so a stray brace in a message is never silently eaten.
"""

from __future__ import annotations

import re
from typing import Any

FIELDS = ("first_name", "last_name", "church_name")
MERGE_RE = re.compile(r"\{\s*(first_name|last_name|church_name)\s*(?:\|([^{}]*))?\}")
# Anything that looks like a merge field: a name in braces, with or without a fallback.
LOOKS_LIKE_FIELD_RE = re.compile(r"\{\s*([A-Za-z_]\w{0,40})\s*(?:\|[^{}]*)?\}")
# What a merge field looks like where no one person is meant: lists, labels, previews.
PLACEHOLDERS = {"first_name": "[first name]", "last_name": "[last name]", "church_name": "[church name]"}
TITLE_MAX = 80
TITLE_WORDS = 8
# Used to estimate segments before the recipients are known: a longish real name.
ESTIMATE_VALUES = {"first_name": "Jonathan", "last_name": "Richardson"}


def has_fields(body: str) -> bool:
    """True when the body contains at least one merge field."""
    return MERGE_RE.search(body or "") is not None


def unknown_fields(body: str) -> list[str]:
    """Braced names that are not merge fields ("{firstname}"): they would reach members as typed."""
    names = (m.group(1) for m in LOOKS_LIKE_FIELD_RE.finditer(body or ""))
    return list(dict.fromkeys(n for n in names if n not in FIELDS))


def check_fields(body: str) -> str | None:
    """A sentence for the form field when the body names an unknown merge field, else None."""
    unknown = unknown_fields(body)
    if not unknown:
        return None
    known = ", ".join("{" + f + "}" for f in FIELDS)
    return f"{{{unknown[0]}}} is not a merge field. Use {known}."


def fields_used(body: str) -> list[str]:
    """The merge fields a body uses, in order of first appearance."""
    return list(dict.fromkeys(m.group(1) for m in MERGE_RE.finditer(body or "")))


def render_values(body: str, values: dict[str, str | None]) -> str:
    """Render `body` with plain values (missing or blank values take the field's fallback)."""
    if "{" not in body:
        return body

    def sub(match: re.Match[str]) -> str:
        value = (values.get(match.group(1)) or "").strip()
        return value or (match.group(2) or "").strip()

    return MERGE_RE.sub(sub, body)


def values_for(member: Any, church: Any) -> dict[str, str | None]:
    """The merge values of a member (any object with first/last name) and a church."""
    return {
        "first_name": getattr(member, "first_name", None) if member is not None else None,
        "last_name": getattr(member, "last_name", None) if member is not None else None,
        "church_name": getattr(church, "name", None) if church is not None else None,
    }


def render(body: str, member: Any, church: Any) -> str:
    """The text one member receives: merge fields filled from the member and the church."""
    return render_values(body, values_for(member, church))


def estimate(body: str, church: Any) -> str:
    """The body as a typical member would receive it, for counting segments before sending."""
    return render_values(body, {**ESTIMATE_VALUES, "church_name": getattr(church, "name", None)})


def placeholders(body: str, church_name: str | None = None) -> str:
    """The body with readable placeholders ("Hi [first name]!"), the church's name filled in when known."""
    return render_values(body or "", {**PLACEHOLDERS, "church_name": church_name or PLACEHOLDERS["church_name"]})


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
