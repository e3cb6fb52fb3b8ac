"""Ids read from forms and query strings: ASCII digits that fit a bigint, or nothing.

`str.isdigit()` alone lets "²" through (int() then raises) and any number of digits (int() refuses
more than 4,300, and PostgreSQL more than a bigint holds): either was a 500, not a refusal.
"""

from __future__ import annotations

from collections.abc import Iterable

from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter

MAX_ID_DIGITS = 18  # below 2**63
BIGINT_MAX = 2**63 - 1


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


def carries_nul(*fields: MultiDict) -> bool:
    """Whether a query string or form holds a NUL in any key or value: no PostgreSQL text stores one.

    Left to the views, a NUL reached the database in whatever field was saved and failed the
    flush (a 500); refused up front, every form is covered, including ones added later.
    """
    return any("\x00" in key or any("\x00" in v for v in values) for f in fields for key, values in f.lists())


class IdConverter(IntegerConverter):
    """`<int:...>` in a route: a number PostgreSQL's bigint holds, or the URL matches nothing (404).

    Werkzeug's own converter takes any number of digits, and a lookup by an id past 2**63 was a
    500 (bigint out of range) rather than a "not found".
    """

    def __init__(self, map, fixed_digits=0, min=None, max=BIGINT_MAX, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
