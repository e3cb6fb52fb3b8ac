"""Phone display: the North American fast path says what phonenumbers says."""

from __future__ import annotations

import random

import phonenumbers

from app.people.phones import format_national


def test_north_american_numbers_format_as_phonenumbers_does():
    rng = random.Random(7)
    numbers = [f"+1{rng.randint(200, 999)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}" for _ in range(5000)]
    numbers += ["+13125550142", "+18005550100", "+14165550123", "+18765550199", "+12025550173"]
    for e164 in numbers:
        expected = phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.NATIONAL)
        assert format_national(e164) == expected, e164


def test_other_numbers_keep_their_international_format():
    assert format_national("+442071838750") == "+44 20 7183 8750"
    # Not a NANP shape (area code starting with 1): phonenumbers decides, as before.
    assert format_national("+11235550142") == "1235550142"
    assert format_national("") == "" and format_national(None) == ""
    assert format_national("not a number") == "not a number"
