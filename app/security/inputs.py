"""Ids read from forms and query strings: ASCII digits that fit a bigint, or nothing.

`str.isdigit()` alone lets "²" through (int() then raises) and any number of digits (int() refuses
more than 4,300, and PostgreSQL more than a bigint holds): either was a 500, not a refusal.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_ID_DIGITS = 18  # below 2**63


def parse_id(value: object) -> int | None:
    """The id `value` spells, or None when it is not one."""
    text = str(value or "").strip()
    if text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS:
        return int(text)
    return None


def parse_ids(values: Iterable[object], limit: int) -> list[int]:
    """The first `limit` distinct ids among `values`, in order (a dict keeps it linear)."""
    ids: dict[int, None] = {}
    for value in values:
        if (found := parse_id(value)) is not None:
            ids[found] = None
            if len(ids) == limit:
                break
    return list(ids)
