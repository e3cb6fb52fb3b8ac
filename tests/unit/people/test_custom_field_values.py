"""Custom field values: what parse_value accepts for each type, and how values are shown."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from app.people.custom_fields import FieldSpec, FieldValueError, as_json, display, parse_value
from app.people.field_definitions import slugify

CAMPUS = FieldSpec(1, "campus", "Campus", "choice", ("North", "South Side"))
KIDS = FieldSpec(2, "kids", "Children", "number", ())
BIRTHDAY = FieldSpec(3, "birthday", "Birthday", "date", ())
SHIRT = FieldSpec(4, "shirt", "Shirt", "text", ())


@pytest.mark.parametrize(
    ("spec", "raw", "expected"),
    [
        (CAMPUS, "  south   side ", "South Side"),
        (CAMPUS, "", None),
        (KIDS, "1,250", Decimal("1250")),
        (KIDS, 2.5, Decimal("2.5")),
        (KIDS, " ", None),
        (BIRTHDAY, "1990-03-14", date(1990, 3, 14)),
        (BIRTHDAY, "03/14/1990", date(1990, 3, 14)),
        (SHIRT, "  XL ", "XL"),
        (SHIRT, None, None),
    ],
)
def test_values_are_read_as_their_type(spec, raw, expected):
    assert parse_value(spec, raw) == expected


@pytest.mark.parametrize(
    ("spec", "raw"),
    [
        (CAMPUS, "West"),
        (CAMPUS, 3),
        (KIDS, "three"),
        (KIDS, "1e20"),
        (KIDS, "NaN"),
        (KIDS, True),
        (KIDS, "9" * 40),
        (BIRTHDAY, "1990-02-30"),
        (BIRTHDAY, "x" * 5000),
        (SHIRT, "x" * 201),
        (SHIRT, {"a": 1}),
    ],
)
def test_values_that_do_not_fit_are_refused(spec, raw):
    with pytest.raises(FieldValueError):
        parse_value(spec, raw)


def test_display_and_json():
    assert display(Decimal("100.0000")) == "100" and as_json(Decimal("100.0000")) == 100
    assert display(Decimal("2.5000")) == "2.5" and as_json(Decimal("2.5000")) == 2.5
    assert display(date(1990, 3, 14)) == as_json(date(1990, 3, 14)) == "1990-03-14"


def test_keys_from_names():
    assert slugify("Campus (main)") == "campus_main"
    assert slugify("2nd service") == "f_2nd_service"
    assert slugify("!!!") == ""
