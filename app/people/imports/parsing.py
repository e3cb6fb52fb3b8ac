"""Reading member CSV files: encoding, delimiter, header guessing and row normalisation.

Pure Python with no database access, so every odd file people export from spreadsheets and
church-management systems can be unit-tested quickly. Loading the normalised rows is
services.py's job.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from charset_normalizer import from_bytes

from app.people.custom_fields import FieldSpec, FieldValueError, display, parse_value
from app.people.fastphone import phone_e164
from app.people.phones import PhoneError, normalize_phone

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
PREVIEW_ROWS = 5
CUSTOM_PREFIX = "custom:"  # mapping keys of custom fields: "custom:<key>" -> column index
FIELD_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone",
    "email": "Email",
    "groups": "Groups",
    "branch": "Branch",
}
# Header spellings seen in exports (Planning Center, Breeze, Excel templates), compared after
# lower-casing and turning punctuation into spaces.
HEADER_NAMES = {
    "first_name": {"first name", "firstname", "name", "first", "given name", "forename", "fname", "prenom", "nombre"},
    "last_name": {"last name", "lastname", "last", "surname", "family name", "lname", "nom", "apellido"},
    "phone": {
        "phone",
        "phone number",
        "mobile",
        "mobile phone",
        "mobile number",
        "cell",
        "cell phone",
        "cellphone",
        "telephone",
        "tel",
        "sms",
        "number",
        "telefono",
        "telephone mobile",
    },
    "email": {"email", "e mail", "email address", "e mail address", "mail", "courriel", "correo"},
    "groups": {"groups", "group", "ministries", "ministry", "teams", "team", "tags", "lists"},
    "branch": {"branch", "campus", "location", "site", "congregation"},
}
HEADER_WORDS = {"phone": ("phone", "mobile", "cell"), "email": ("email", "e mail"), "groups": ("group",)}
# Group cells list several names: "Youth; Choir", "Youth, Choir" or "Youth | Choir".
# Just the separators (split_groups trims each name): with \s* on either side, a long run of spaces
# was rescanned from each of its positions, quadratic in the cell's length.
GROUP_SPLIT = re.compile(r"[;,|]")
# One "@" and a dot inside the domain, checked in Python: "[^@…]+\.[^@…]+$" backtracked over every dot.
EMAIL = re.compile(r"\A[^@\s,;<>]+@(?P<domain>[^@\s,;<>]+)\Z")
WESTERN_ENCODINGS = ["cp1252", "latin_1", "iso8859_15"]


class ImportFileError(ValueError):
    """The file cannot be imported at all; the message is shown on the upload page."""


@dataclass(frozen=True)
class Sniffed:
    """What the upload step learns about a file before anything is queued."""

    encoding: str
    delimiter: str
    headers: list[str]
    sample: list[list[str]]
    total_rows: int
    mapping: dict[str, int]


@dataclass
class Normalised:
    """Rows ready to load, the rows that could not be (each with its reason), and rows loaded without
    an optional value that was unusable (a warning each: the member matters more than their email)."""

    # (row_no, first, last, phone, email, groups, branch_id, custom): custom is JSON text
    # {"<field id>": "<value>"} of the row's custom field values, or None.
    rows: list[tuple] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    read: int = 0
    good: int = 0


def decode(data: bytes) -> tuple[str, str]:
    """Bytes to text and the encoding used: UTF-8 (BOM or not), UTF-16 with BOM, else Western legacy."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Spreadsheets saved as "CSV" on Windows are cp1252; keep charset-normalizer to the Western
    # code pages, because on short files it otherwise picks Baltic or Central European ones.
    best = from_bytes(data, cp_isolation=WESTERN_ENCODINGS).best()
    encoding = best.encoding if best is not None else "cp1252"
    return data.decode(encoding, errors="replace"), encoding


def detect_delimiter(text: str) -> str:
    """Comma, semicolon (European Excel) or tab, by counting them on the header line outside quotes."""
    for line in text.splitlines():
        if line.strip():
            unquoted = re.sub(r'"[^"]*"', "", line)
            counts = {d: unquoted.count(d) for d in (",", ";", "\t")}
            best = max(counts, key=lambda d: counts[d])
            return best if counts[best] else ","
    return ","


def records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) for each non-blank record; row 1 is the header.

    Quoted fields may hold newlines; a record spanning lines is still one spreadsheet row.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for number, cells in enumerate(reader, start=1):
        if "".join(cells).strip():
            yield number, cells


def looks_like_email(text: str) -> bool:
    """One "@", nothing a list would split on, and a dot inside the domain."""
    match = EMAIL.match(text)
    return bool(match) and "." in match["domain"][1:-1]


def header_key(name: str) -> str:
    """A header as compared with known names: lower case, punctuation as single spaces."""
    text = re.sub(r"[^a-z0-9]+", " ", name.lower().replace("é", "e").replace("ó", "o"))
    return " ".join(text.split())


def guess_mapping(headers: list[str], sample: list[list[str]], country: str = "US") -> dict[str, int]:
    """Field → column index, guessed from header names, then from values for the phone column."""
    keys = [header_key(h) for h in headers]
    mapping: dict[str, int] = {}
    for fld, names in HEADER_NAMES.items():
        exact = [i for i, k in enumerate(keys) if k in names and i not in mapping.values()]
        partial = [
            i
            for i, k in enumerate(keys)
            if any(w in k for w in HEADER_WORDS.get(fld, ())) and i not in mapping.values()
        ]
        if exact or partial:
            mapping[fld] = (exact or partial)[0]
    if "phone" not in mapping:
        column = _phone_like_column(len(headers), sample, country, set(mapping.values()))
        if column is not None:
            mapping["phone"] = column
    return mapping


def _phone_like_column(width: int, sample: list[list[str]], country: str, taken: set[int]) -> int | None:
    """A column most of whose sample values are phone numbers (for files with odd headers)."""
    for i in range(width):
        if i in taken:
            continue
        values = [r[i] for r in sample if i < len(r) and r[i].strip()]
        if values and sum(1 for v in values if phone_e164(v, country)) * 2 > len(values):
            return i
    return None


def sniff(data: bytes, country: str = "US") -> Sniffed:
    """Check a fresh upload and learn its shape; raise ImportFileError before any work is queued."""
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise ImportFileError("This file is empty. Export your members again and upload the CSV file.")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError("This looks like a spreadsheet, not a CSV file. Save it as CSV and upload it again.")
    text, encoding = decode(data)
    delimiter = detect_delimiter(text)
    try:
        rows = records(text, delimiter)
        first = next(rows, None)
        if first is None:
            raise ImportFileError("This file is empty. Export your members again and upload the CSV file.")
        headers = [h.strip() for h in first[1]]
        sample: list[list[str]] = []
        total = 0
        for _, cells in rows:
            if len(sample) < PREVIEW_ROWS:
                sample.append(cells)
            total += 1
    except csv.Error as exc:
        raise ImportFileError(f"This file is not a readable CSV file ({exc}).") from None
    if total == 0:
        raise ImportFileError("This file has a header row but no members under it.")
    mapping = guess_mapping(headers, sample, country)
    if "phone" not in mapping:
        raise ImportFileError(
            "This file has no phone column. Koinonia texts members, so each row needs a phone number: "
            "add a column named “Phone” and upload it again."
        )
    return Sniffed(encoding, delimiter, headers, sample, total, mapping)


def _phone_reason(raw: str, country: str) -> str:
    try:
        normalize_phone(raw, country)
    except PhoneError as exc:
        return str(exc)
    return f"“{raw}” is not a valid phone number."


def split_groups(cell: str) -> list[str]:
    """Group names in one cell, trimmed, without repeats (compared case-insensitively)."""
    seen: dict[str, str] = {}
    for name in GROUP_SPLIT.split(cell.strip()):
        name = " ".join(name.split())[:200]
        if name and name.lower() not in seen:
            seen[name.lower()] = name
    return list(seen.values())


def _custom_values(custom: list[tuple[FieldSpec, int]], cells: list[str]) -> tuple[str | None, str | None]:
    """(JSON text of the row's custom values or None, None) or (None, the reason the row fails)."""
    found: dict[str, str] = {}
    for spec, col in custom:
        try:
            value = parse_value(spec, cells[col])
        except FieldValueError as err:
            return None, f"{spec.name}: {err}"
        if value is not None:
            found[str(spec.id)] = display(value)
    return (json.dumps(found) if found else None), None


def normalise(
    text: str,
    delimiter: str,
    mapping: dict[str, int],
    *,
    country: str = "US",
    branches: dict[str, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
    every: int = 5000,
    sink: Callable[[tuple], None] | None = None,
    limit: int | None = None,
    custom: list[tuple[FieldSpec, int]] | None = None,
) -> Normalised:
    """Validate and clean every data row; the first row with a phone wins over later duplicates.

    `branches` maps lower-cased branch names to ids; `progress(read, failed)` is called every
    `every` rows so the page can show the job moving. Good rows go to `sink` when given (the
    loader streams them into COPY while the file is still being read), else to `.rows`. `limit`
    stops after that many data rows (the preview checks the start of a file, not all of it).
    `custom` pairs the church's custom fields with their columns: a value that does not fit its
    field fails the row (reported with the others), so what is loaded is always of the right type.
    """
    branches = branches or {}
    out = Normalised()
    sink = sink or out.rows.append
    seen: dict[str, int] = {}
    # Rows are padded to the widest mapped column plus one empty cell, which unmapped fields point
    # at (index -1): one list index per field instead of a bounds check per cell (100k rows).
    custom = custom or []
    width = max([*mapping.values(), *(col for _, col in custom)], default=0) + 1
    first, last, phone_col, email_col, groups_col, branch_col = (
        mapping.get(f, -1) for f in ("first_name", "last_name", "phone", "email", "groups", "branch")
    )
    rows = records(text, delimiter)
    next(rows, None)  # the header

    for number, original in rows:
        if limit is not None and out.read >= limit:
            break
        out.read += 1
        if progress and out.read % every == 0:
            progress(out.read, len(out.failures))
        cells = original + [""] * (width - len(original) + 1) if len(original) < width else original + [""]
        raw_phone = cells[phone_col].strip()
        reason = None
        phone = phone_e164(raw_phone, country) if raw_phone else None
        if not raw_phone:
            reason = "No phone number."
        elif phone is None:
            reason = _phone_reason(raw_phone, country)
        elif phone in seen:
            reason = f"Duplicate phone number: row {seen[phone]} has the same number."
        values = None
        if reason is None and custom:
            values, reason = _custom_values(custom, cells)
        if reason is not None:
            out.failures.append({"row": number, "values": original, "reason": reason})
            continue
        # Email and branch are optional: an unusable one is left out and the row still imported.
        problems = []
        email = cells[email_col].strip().lower() or None
        if email and (len(email) > 320 or not looks_like_email(email)):
            problems.append(f"“{cells[email_col].strip()[:320]}” is not an email address; imported without an email.")
            email = None
        branch_name = cells[branch_col].strip()
        branch_id = branches.get(" ".join(branch_name.lower().split())) if branch_name else None
        if branch_name and branch_id is None:
            problems.append(
                f"No branch named “{branch_name[:200]}”; imported without a branch. Add it in Settings → Branches."
            )
        if problems:
            out.warnings.append({"row": number, "values": original, "reason": " ".join(problems), "warning": True})
        seen[phone] = number
        groups_cell = cells[groups_col]
        groups = split_groups(groups_cell) if groups_cell else []
        first_name, last_name = cells[first].strip()[:100], cells[last].strip()[:100]
        out.good += 1
        sink((number, first_name, last_name, phone, email, groups, branch_id, values))
    if progress:
        progress(out.read, len(out.failures))
    return out
