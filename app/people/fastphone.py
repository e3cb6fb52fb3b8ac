"""A fast path to E.164 for already-clean North American numbers, for bulk imports.

phones.normalize_phone costs about 35 µs a number, most of it in phonenumbers matching the
number against every region's patterns; at 100,000 rows that is seconds. For numbers written
as NPA-NXX-XXXX (with the usual separators and an optional +1), this module gives the same
answer faster:

- the text is not parsed by phonenumbers (nanp_digits reads the ten digits in one pass);
- the US and Canadian patterns are matched once, not twice (is_valid_number finds the region
  by a full match, then matches again);
- for numbers whose region is the US or Canada, validity depends only on the first six digits
  (NPA-NXX): every US/CA pattern ends in at least four free digits. That is checked on the
  installed metadata at first use (free_tail reads the patterns' text), and the per-prefix cache
  stays off if it ever stops holding.
Anything else falls back to phones.normalize_phone. tests/unit/imports checks both agree.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import phonenumbers

from app.people.phones import PhoneError, normalize_phone

ASCII_DIGITS = frozenset("0123456789")
NUMBER_TYPES = (
    "general_desc",
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "voicemail",
)
_CACHE_LIMIT = 200_000
_prefix_valid: dict[str, bool] = {}


def phone_e164(raw: str, country: str = "US") -> str | None:
    """E.164 for `raw` in `country`, or None when it is not a valid number (as phones.try_normalize)."""
    if _nanp_country(country):
        national = nanp_digits(raw)
        if national:
            return "+1" + national if _valid_nanp(national) else None
    try:
        return normalize_phone(raw, country)
    except PhoneError:
        return None


def nanp_digits(raw: str) -> str | None:
    """The ten digits of `raw` written as NPA-NXX-XXXX, or None for anything else.

    Accepts an optional +1 or 1 and one separator after it, parentheses around the area code, one
    separator (a space, "." or "-") between the parts and spaces around the whole, as in
    "+1 (312) 555-0142" or "312.555.0142". Read in one pass; digits are ASCII only, so other
    scripts' digits go the slow way, which writes them as ASCII.
    """
    text = raw.strip()
    i = 2 if text.startswith("+1") else 1 if text.startswith("1") else 0
    if i:
        i = _after_separator(text, i)
    if text.startswith("(", i):
        i += 1
    npa = text[i : i + 3]
    i += 3
    if text.startswith(")", i):
        i += 1
    i = _after_separator(text, i)
    nxx = text[i : i + 3]
    i = _after_separator(text, i + 3)
    line = text[i : i + 4]
    if i + 4 != len(text) or len(line) != 4 or not ASCII_DIGITS.issuperset(npa + nxx + line):
        return None
    if len(npa) != 3 or len(nxx) != 3 or npa[0] in "01" or nxx[0] in "01":
        return None
    return npa + nxx + line


def _after_separator(text: str, i: int) -> int:
    """Past one separator at `i` (whitespace, "." or "-"), if there is one."""
    return i + 1 if i < len(text) and (text[i] in ".-" or text[i].isspace()) else i


@lru_cache(maxsize=8)
def _nanp_country(country: str) -> bool:
    return phonenumbers.country_code_for_region(country.upper()) == 1


def _valid_nanp(national: str) -> bool:
    """phonenumbers.is_valid_number for the ten-digit NANP number `national`."""
    cached = _prefix_valid.get(national[:6])
    if cached is not None:
        return cached
    number = phonenumbers.PhoneNumber(country_code=1, national_number=int(national))
    region = phonenumbers.region_code_for_number(number)
    if region is not None and region not in _regions_chosen_by_full_match():
        # A Caribbean region picked by its leading digits; its patterns go deeper than NPA-NXX.
        return phonenumbers.is_valid_number_for_region(number, region)
    valid = region is not None
    if _prefix_decides_validity():
        if len(_prefix_valid) >= _CACHE_LIMIT:
            _prefix_valid.clear()
        _prefix_valid[national[:6]] = valid
    return valid


@lru_cache(maxsize=1)
def _regions_chosen_by_full_match() -> frozenset[str]:
    """NANP regions (US, CA) that region_code_for_number returns only after a full pattern match."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]
    return frozenset(r for r in regions if phonenumbers.PhoneMetadata.metadata_for_region(r).leading_digits is None)


@lru_cache(maxsize=1)
def _prefix_decides_validity() -> bool:
    """True when every ten-digit pattern of those regions ends in four or more free digits."""
    for region in _regions_chosen_by_full_match():
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        for name in NUMBER_TYPES:
            desc = getattr(metadata, name, None)
            if desc is None or not desc.national_number_pattern:
                continue
            if desc.possible_length and 10 not in desc.possible_length:
                continue
            if free_tail(desc.national_number_pattern) < 4:
                return False
    return True


def free_tail(pattern: str) -> int:
    """How many trailing digits `pattern` leaves free, whichever of its alternatives matches (a lower bound).

    Read from the pattern's text, for what phonenumbers' patterns are made of: alternatives,
    groups, classes, \\d and counted repeats. Anything else ends the count, which errs towards
    "not free" and so towards keeping the per-prefix cache off. One pass over the text.
    """
    try:
        alternatives, end = _alternatives(pattern, 0)
    except (IndexError, ValueError):
        return 0
    return _tail_of(alternatives) if end == len(pattern) else 0


DIGIT, OTHER = "digit", "other"  # pattern atoms: any one digit, or anything else (a group is a list)


def _alternatives(pattern: str, i: int) -> tuple[list[list[tuple]], int]:
    """The alternatives of the (sub)pattern at `i`, each a list of (atom, low, high), and where it ends."""
    alternatives: list[list[tuple]] = [[]]
    while i < len(pattern) and pattern[i] != ")":
        if pattern[i] == "|":
            alternatives.append([])
            i += 1
            continue
        atom, i = _atom(pattern, i)
        low, high, i = _repeat(pattern, i)
        alternatives[-1].append((atom, low, high))
    return alternatives, i


def _atom(pattern: str, i: int) -> tuple[Any, int]:
    char = pattern[i]
    if char == "(":
        if pattern.startswith("(?", i) and not pattern.startswith("(?:", i):
            raise ValueError("a group that is not a plain one")  # lookarounds, names, flags
        alternatives, end = _alternatives(pattern, i + 3 if pattern.startswith("(?:", i) else i + 1)
        if pattern[end] != ")":
            raise ValueError("an unclosed group")
        return alternatives, end + 1
    if char == "[":
        end = i + 1
        while pattern[end] != "]" or end == i + 1:
            end += 2 if pattern[end] == "\\" else 1
        return (DIGIT if pattern[i + 1 : end] in ("0-9", "\\d") else OTHER), end + 1
    if char == "\\":
        return (DIGIT if pattern[i + 1] == "d" else OTHER), i + 2
    return OTHER, i + 1


def _repeat(pattern: str, i: int) -> tuple[int, int | None, int]:
    """The repeat after an atom (low, high or None for unbounded) and where it ends."""
    char = pattern[i : i + 1]
    if char in ("?", "*", "+"):
        low, high = {"?": (0, 1), "*": (0, None), "+": (1, None)}[char]
        i += 1
    elif char == "{":
        end = pattern.index("}", i)
        first, comma, last = pattern[i + 1 : end].partition(",")
        low = int(first)
        high = (int(last) if last else None) if comma else low
        i = end + 1
    else:
        return 1, 1, i
    return low, high, i + pattern.startswith("?", i)  # a lazy repeat matches the same digits


def _tail_of(alternatives: list[list[tuple]]) -> int:
    return min(_tail(items) for items in alternatives)


def _tail(items: list[tuple]) -> int:
    free = 0
    for atom, low, high in reversed(items):
        if atom == DIGIT and low == high:
            free += low
            continue
        if isinstance(atom, list) and low == high == 1:
            return free + _tail_of(atom)
        return free
    return free
