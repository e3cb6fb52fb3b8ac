"""Cursor pages for the API: by id (ascending, or newest first), `next_cursor` an opaque token of the last id seen.

Keyset, not OFFSET, so the thousandth page costs what the first does, and rows added while a
client pages through are neither skipped nor repeated.
"""

from __future__ import annotations

import base64
import binascii

from sqlalchemy import Select

from app.errors import ValidationError
from app.extensions import db
from app.security.inputs import BIGINT_MAX


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The id a page starts after (0 for the first page); 422 for a cursor we did not make."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        last_id = int(value)
        if kind != "id" or not 0 < last_id <= BIGINT_MAX:
            raise ValueError
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise ValidationError("Some fields need fixing.", details={"cursor": ["Not a cursor from this API."]}) from None
    return last_id


def page_of(stmt: Select, id_column, after: int, limit: int, *, newest_first: bool = False) -> dict:
    """`{"data": rows, "next_cursor": …}`: up to `limit` rows of `stmt` after id `after`.

    Oldest first by default; `newest_first` pages down from the newest id instead (the cursor
    is then the last, lowest id seen).
    """
    if newest_first:
        stmt = stmt.where(id_column < after) if after else stmt
        stmt = stmt.order_by(id_column.desc())
    else:
        stmt = stmt.where(id_column > after).order_by(id_column)
    rows = list(db.session.scalars(stmt.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"data": rows, "next_cursor": encode_cursor(rows[-1].id) if more else None}
