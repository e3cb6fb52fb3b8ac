"""Mask phone numbers and email addresses before they reach logs."""

from __future__ import annotations

import logging
import re

# E.164: "+", a non-zero country digit, 7-15 digits in all; not inside a longer digit run.
PHONE_RE = re.compile(r"(?<![\w+])\+[1-9]\d{6,14}(?!\d)")
EMAIL_RE = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")

# Attributes every LogRecord has; anything else came from `extra=` and may hold PII.
STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",  # Python 3.12+
}


def mask_phone(number: str | None) -> str:
    """'+13125550142' -> '+1312*****42': keep country/area prefix and the last two digits."""
    if not number:
        return ""
    text = str(number).strip()
    digits = re.sub(r"\D", "", text)
    if len(digits) <= 2:
        return "*" * len(digits)
    # At least five digits are always hidden, so short numbers keep less of their prefix.
    head = max(0, min(4, len(digits) - 7))
    masked = digits[:head] + "*" * (len(digits) - head - 2) + digits[-2:]
    return ("+" if text.startswith("+") else "") + masked


def mask_email(address: str | None) -> str:
    """'john.doe@example.org' -> 'j***@example.org': the domain helps debugging, the name does not."""
    if not address:
        return ""
    local, sep, domain = str(address).strip().rpartition("@")
    if not sep or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def mask_text(text: str) -> str:
    """Mask every email address and E.164 number inside free text."""
    # Emails first: a local part like "+13125550142@…" must be masked as an email.
    text = EMAIL_RE.sub(lambda m: mask_email(m.group(0)), text)
    return PHONE_RE.sub(lambda m: mask_phone(m.group(0)), text)


class PIIMaskingFilter(logging.Filter):
    """Mask phone numbers and emails in a record's message, args, `extra` fields and traceback.

    Attach it to handlers (not loggers): handler filters see records propagated from every
    child logger, logger filters only see records logged on that exact logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite `record` in place; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's problem, not ours
            return True
        masked = mask_text(message)
        if masked != message:
            # Render once: masking each arg alone would miss numbers built by formatting.
            record.msg, record.args = masked, None
        for key, value in list(vars(record).items()):
            if key not in STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, mask_text(value))
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when set, so the masked traceback is what gets written.
            record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
        return True
