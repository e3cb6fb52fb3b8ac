"""PII masking: phone numbers and emails never reach the logs in full."""

from __future__ import annotations

import logging

import pytest

from app.security.masking import PIIMaskingFilter, mask_email, mask_phone, mask_text


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("+13125550142", "+1312*****42"),
        ("+447700900123", "+4477******23"),
        ("+4930123456", "+493*****56"),
        ("+3531234", "+*****34"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone(raw, masked):
    assert mask_phone(raw) == masked


def test_mask_email_keeps_domain_only():
    assert mask_email("john.doe@example.org") == "j***@example.org"
    assert mask_email("nobody") == "***"
    assert mask_email(None) == ""


def test_mask_text_handles_mixed_content_and_is_idempotent():
    text = "sent +13125550142 for pastor+13125550100@grace.org (id 40300, ts 1760000000)"
    masked = mask_text(text)
    assert masked == "sent +1312*****42 for p***@grace.org (id 40300, ts 1760000000)"
    assert mask_text(masked) == masked


def make_logger(records: list[logging.LogRecord]) -> logging.Logger:
    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            self.format(record)
            records.append(record)

    logger = logging.getLogger("test.masking")
    logger.handlers.clear()
    handler = Keep()
    handler.addFilter(PIIMaskingFilter())
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def test_filter_masks_message_args_extra_and_traceback():
    records: list[logging.LogRecord] = []
    log = make_logger(records)
    log.info("texting %s from %s", "+13125550142", "admin@example.org", extra={"to": "+13125550143"})
    try:
        raise ValueError("bad number +13125550144")
    except ValueError:
        log.exception("failed")
    first, second = records
    assert first.getMessage() == "texting +1312*****42 from a***@example.org"
    assert first.to == "+1312*****43"
    assert "+13125550144" not in second.exc_text and "+1312*****44" in second.exc_text


def test_filter_leaves_clean_records_untouched():
    records: list[logging.LogRecord] = []
    make_logger(records).info("sent %d messages", 42)
    assert records[0].msg == "sent %d messages" and records[0].args == (42,)
