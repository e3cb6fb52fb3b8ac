"""Ids from forms and query strings: ASCII digits that fit a bigint, or nothing."""

from __future__ import annotations

import pytest

from app.security.inputs import parse_id, parse_ids


@pytest.mark.parametrize(
    ("raw", "found"),
    [("42", 42), (" 7 ", 7), ("", None), (None, None), ("\u00b2", None), ("\u0663", None), ("-1", None)],
)
def test_parse_id(raw, found):
    assert parse_id(raw) == found


def test_parse_id_refuses_more_digits_than_a_bigint_holds():
    assert parse_id("9" * 18) == 10**18 - 1
    assert parse_id("9" * 19) is None and parse_id("9" * 5000) is None


def test_parse_ids_keeps_order_drops_repeats_and_stops_at_the_limit():
    assert parse_ids(["3", "1", "3", "x", "2"], limit=10) == [3, 1, 2]
    assert parse_ids((str(n) for n in range(10**9)), limit=5) == [0, 1, 2, 3, 4]
