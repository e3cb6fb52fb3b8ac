"""Phone numbers as people type them, to E.164 as Telnyx wants them.

`normalize_phone("(312) 555-0142", "US")` → "+13125550142". Parsing happens in the church's
country, so local formats work; numbers written with a leading + (or 00) keep their own country.
"""

from __future__ import annotations

import re

import phonenumbers

_DIGITS = re.compile(r"\D+")
# A North American number in E.164: NPA and NXX start with 2-9.
_NANP_E164 = re.compile(r"\+1([2-9]\d\d)([2-9]\d\d)(\d{4})")
# A phone typed with spaces, dashes and an extension fits easily; longer is not a phone, and forms
# refuse it before anything parses it.
PHONE_MAX = 40
PHONE_TOO_LONG = f"At most {PHONE_MAX} characters."


class PhoneError(ValueError):
    """The input is not a phone number we can text; the message says why, for the person typing it."""


def normalize_phone(raw: str | None, country: str = "US") -> str:
    """Parse `raw` in `country` and return E.164; raise PhoneError with a readable reason."""
    text = (raw or "").strip()
    if not text:
        raise PhoneError("Enter a phone number.")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, country.upper())
    except phonenumbers.NumberParseException:
        raise PhoneError(f"“{raw}” is not a phone number.") from None
    if not phonenumbers.is_possible_number(number):
        raise PhoneError(f"“{raw}” has the wrong number of digits for a phone number.")
    if not phonenumbers.is_valid_number(number):
        raise PhoneError(f"“{raw}” is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def try_normalize(raw: str | None, country: str = "US") -> str | None:
    """normalize_phone, or None when the input is not a valid number."""
    try:
        return normalize_phone(raw, country)
    except PhoneError:
        return None


def is_e164(value: str | None) -> bool:
    """True when `value` is a valid number written in E.164, as every stored phone should be."""
    if not value:
        return False
    # Most numbers are North American; the pattern spares them phonenumbers' parsing per row.
    return bool(_NANP_E164.fullmatch(value)) or try_normalize(value) == value


def format_national(e164: str | None, country: str = "US") -> str:
    """A number as people in `country` write it: +13125550142 → (312) 555-0142 for a US church.

    Numbers from the church's own country (or its shared calling code, as across North America)
    are shown in national format; others in international format, so the "+44" stays visible.
    """
    if not e164:
        return ""
    home = phonenumbers.country_code_for_region((country or "US").upper())
    if home == 1 and (nanp := _NANP_E164.fullmatch(e164)):
        # What phonenumbers gives every NANP region, without its 50 µs of parsing per list row.
        return "({}) {}-{}".format(*nanp.groups())
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    fmts = phonenumbers.PhoneNumberFormat
    fmt = fmts.NATIONAL if number.country_code == home else fmts.INTERNATIONAL
    return phonenumbers.format_number(number, fmt)


def unknown_name(e164: str | None, country: str = "US") -> str:
    """How someone known only by their number is shown: "Unknown · (630) 555-0142"."""
    return f"Unknown · {format_national(e164, country)}" if e164 else "Unknown contact"


def digits(text: str | None) -> str:
    """Only the digits of `text` (for searching phones typed in any format)."""
    return _DIGITS.sub("", text or "")
