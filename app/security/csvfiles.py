"""Every CSV download is written here, so no cell reaches a spreadsheet as a formula.

A cell starting with = + - @, a tab or a carriage return is one Excel, LibreOffice and Sheets may
run (CSV injection); OWASP's remedy is a leading single quote, which they show as text. The one
exception is a whole cell that is a phone number in E.164 (+ then 7 to 15 digits): a spreadsheet
can only read that as a number, and exports must keep phones usable for a re-import. Callers
write phones they validated themselves (`app/people/export.py`), never raw text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
E164 = re.compile(r"\+[1-9]\d{6,14}")


def cell(value: object) -> str:
    """`value` as text a spreadsheet shows and never runs."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_START) and not E164.fullmatch(text):
        return "'" + text
    return text


def text(rows: Iterable[Iterable[object]]) -> str:
    """The whole file as one string (small files: an import's failed rows)."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def chunks(rows: Iterable[Iterable[object]], every: int = 1000) -> Iterator[str]:
    """The file in pieces of `every` rows, for a streamed download that never holds it all."""
    out = io.StringIO()
    writer = csv.writer(out)
    for n, row in enumerate(rows, 1):
        writer.writerow([cell(v) for v in row])
        if n % every == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
