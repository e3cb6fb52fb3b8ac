"""Short codes of tracked links: made set-based for a whole broadcast, looked up by primary key.

A code is 8 characters of base62 drawn in PostgreSQL from `gen_random_uuid()`'s random bytes
(about 47 bits), one per recipient and link, so a code says who clicked without saying it in
the URL. Codes are unique by primary key; the rare clash is simply drawn again.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text

from app import single_statement
from app.errors import AppError
from app.extensions import db

CODE_LENGTH = 8
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Bytes of a version-4 UUID that are wholly random (6 and 8 carry the version and variant bits).
_RANDOM_BYTES = "ARRAY[0, 1, 2, 3, 4, 5, 9, 10]"
_NEW_CODE = (
    f"(SELECT string_agg(substr('{ALPHABET}', 1 + get_byte(g.b, i) % 62, 1), '' ORDER BY i) "
    f"FROM unnest({_RANDOM_BYTES}) AS i)"
)
_MAX_DRAWS = 8


def well_formed(code: str) -> bool:
    """Looks like a code: checked before any lookup, so junk never reaches the database."""
    return len(code) == CODE_LENGTH and code.isascii() and code.isalnum()


def short_url(base: str, code: str) -> str:
    """The link a recipient's text carries."""
    return f"{base}/l/{code}"


TARGET_SQL = "SELECT l.url FROM link_codes c JOIN tracked_links l ON l.id = c.link_id WHERE c.code = %s"


def target(code: str) -> str | None:
    """The stored URL behind a code (one primary-key lookup in one round trip), or None."""
    row = single_statement.one_row(TARGET_SQL, (code,))
    return row[0] if row else None


def attach(church_id: int, broadcast_id: int, found: Iterable[tuple[int, int, str]]) -> int:
    """Record a broadcast's links ((start, end, url) in body order) and a code for each of its
    recipients and links, in the caller's transaction; returns how many codes were made.

    Links recorded before (an edited broadcast) are replaced, with their codes.
    """
    db.session.execute(text("DELETE FROM tracked_links WHERE broadcast_id = :b"), {"b": broadcast_id})
    rows = [
        {"c": church_id, "b": broadcast_id, "p": position, "u": url, "s": start, "e": end}
        for position, (start, end, url) in enumerate(found)
    ]
    if not rows:
        return 0
    db.session.execute(
        text(
            "INSERT INTO tracked_links (church_id, broadcast_id, position, url, span_start, span_end) "
            "VALUES (:c, :b, :p, :u, :s, :e)"
        ),
        rows,
    )
    expected = db.session.scalar(
        text("SELECT count(*) FROM broadcast_recipients WHERE broadcast_id = :b"), {"b": broadcast_id}
    ) * len(rows)
    made = 0
    # ON CONFLICT skips a drawn code that is taken; the next draw fills only the pairs still without one.
    for _ in range(_MAX_DRAWS):
        made += db.session.execute(
            text(
                f"""
                INSERT INTO link_codes (code, church_id, link_id, recipient_id)
                SELECT {_NEW_CODE}, g.church_id, g.link_id, g.recipient_id
                FROM (
                  SELECT r.church_id, l.id AS link_id, r.id AS recipient_id, uuid_send(gen_random_uuid()) AS b
                  FROM broadcast_recipients r
                  JOIN tracked_links l ON l.broadcast_id = r.broadcast_id
                  WHERE r.broadcast_id = :b
                    AND NOT EXISTS (SELECT 1 FROM link_codes x WHERE x.recipient_id = r.id AND x.link_id = l.id)
                ) g
                ON CONFLICT DO NOTHING
                """
            ),
            {"b": broadcast_id},
        ).rowcount
        if made >= expected:
            return made
    raise AppError("Short links could not be made for this broadcast; please try again.")
