"""A fast path to E.164 for already-clean North American numbers, for bulk imports.

phones.normalize_phone costs about 35 µs a number, most of it in phonenumbers matching the
number against every region's patterns; at 100,000 rows that is seconds. For numbers written
as NPA-NXX-XXXX (with the usual separators and an optional +1), this module gives the same
answer faster:

- the text is not parsed by phonenumbers (a regex takes the ten digits);
- the US and Canadian patterns are matched once, not twice (is_valid_number finds the region
  by a full match, then matches again);
- for numbers whose region is the US or Canada, validity depends only on the first six digits
  (NPA-NXX): every US/CA pattern ends in at least four free digits. That is checked on the
  installed metadata at first use, and the per-prefix cache stays off if it ever stops holding.
Anything else falls back to phones.normalize_phone. tests/unit/imports checks both agree.
"""

from __future__ import annotations

import re
import re._constants as sre  # the stdlib regex parser, to read phonenumbers' patterns
import re._parser as sre_parse
from functools import lru_cache

import phonenumbers

from app.people.phones import PhoneError, normalize_phone

NANP = re.compile(r"^\s*(?:\+?1[\s.\-]?)?\(?([2-9]\d\d)\)?[\s.\-]?([2-9]\d\d)[\s.\-]?(\d{4})\s*$")
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
        match = NANP.match(raw)
        if match:
            national = "".join(match.groups())
            return "+1" + national if _valid_nanp(national) else None
    try:
        return normalize_phone(raw, country)
    except PhoneError:
        return None


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
            if _free_tail(sre_parse.parse(desc.national_number_pattern)) < 4:
                return False
    return True


def _is_any_digit(item: tuple) -> bool:
    op, arg = item
    return op is sre.IN and arg in ([(sre.CATEGORY, sre.CATEGORY_DIGIT)], [(sre.RANGE, (48, 57))])


def _free_tail(sequence) -> int:
    """How many trailing digits the pattern leaves unconstrained, whichever alternative matches (a lower bound)."""
    free = 0
    for item in reversed(list(sequence)):
        op, arg = item
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            low, high, sub = arg
            if low == high and len(sub) == 1 and _is_any_digit(sub[0]):
                free += low
                continue
            return free
        if _is_any_digit(item):
            free += 1
            continue
        if op is sre.SUBPATTERN:
            return free + _free_tail(arg[-1])
        if op is sre.BRANCH:
            return free + min(_free_tail(branch) for branch in arg[1])
        return free
    return free
