"""Error codes read as sentences a church admin understands."""

from __future__ import annotations

from app.delivery.errors import DEFAULT_MESSAGE, describe


def test_known_codes_are_plain_sentences():
    assert describe("30007") == "The carrier filtered it as spam."
    assert "STOP" in describe("40300")
    for code in ("40001", "40008", "40310", "10011", "30003", "30004", "30005", "30006", "30008"):
        text = describe(code)
        assert text != DEFAULT_MESSAGE and text.endswith(".")


def test_integer_codes_and_statuses_work():
    assert describe(30007) == describe("30007")
    assert describe("delivery_failed") != DEFAULT_MESSAGE


def test_unknown_or_missing_codes_get_the_safe_default():
    assert describe("99999") == DEFAULT_MESSAGE
    assert describe(None) == DEFAULT_MESSAGE
    assert describe("") == DEFAULT_MESSAGE
