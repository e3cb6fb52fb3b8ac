"""Segment counting: what the composer shows is what Telnyx bills."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from app.delivery.segments import (
    GSM7,
    GSM7_BASIC,
    GSM7_EXTENDED,
    MAX_SEGMENTS,
    analyze,
    replace_smart_characters,
)

gsm_basic_text = st.text(alphabet=sorted(GSM7_BASIC), max_size=1200)
gsm_text = st.text(alphabet=sorted(GSM7), max_size=1200)
non_gsm_char = st.characters(blacklist_characters=sorted(GSM7), blacklist_categories=["Cs"])
bmp_non_gsm = st.characters(max_codepoint=0xFFFF, blacklist_characters=sorted(GSM7), blacklist_categories=["Cs"])


def test_plain_message_is_one_gsm_segment():
    info = analyze("Service starts at 10am. See you there!")
    assert (info.encoding, info.segments, info.unicode_chars) == ("GSM-7", 1, ())
    assert info.remaining == 160 - info.length


def test_boundaries_160_and_161():
    assert analyze("a" * 160).segments == 1
    assert analyze("a" * 161).segments == 2
    assert analyze("a" * 306).segments == 2
    assert analyze("a" * 307).segments == 3


def test_extended_characters_count_double():
    info = analyze("{}[]~^|\\€")
    assert info.encoding == "GSM-7"
    assert info.length == 18


def test_escape_pair_never_straddles_a_segment():
    # 152 plain septets, then "€" (2 septets) would split across parts 1 and 2.
    info = analyze("a" * 152 + "€" + "a" * 10)
    assert info.length == 164
    assert info.segments == 2
    assert info.remaining == 153 - 12


def test_one_emoji_makes_the_whole_message_ucs2_and_counts_two_units():
    info = analyze("Praying for you 🙏")
    assert info.encoding == "UCS-2"
    assert info.unicode_chars == ("🙏",)
    assert info.length == len("Praying for you ") + 2
    assert info.segments == 1


def test_ucs2_boundaries_70_and_71():
    assert analyze("é" * 69 + "ç").segments == 1  # ç is not GSM (only Ç is)
    assert analyze("ç" * 70).segments == 1
    assert analyze("ç" * 71).segments == 2
    assert analyze("ç" * 134).segments == 2
    assert analyze("ç" * 135).segments == 3


def test_curly_quotes_force_ucs2_until_replaced():
    text = "Don’t miss “Family Night” – it’s fun…"
    assert analyze(text).encoding == "UCS-2"
    assert set(analyze(text).unicode_chars) == {"’", "“", "”", "–", "…"}
    fixed = replace_smart_characters(text)
    assert fixed == "Don't miss \"Family Night\" - it's fun..."
    assert analyze(fixed).encoding == "GSM-7"


def test_empty_text_has_no_segments():
    info = analyze("")
    assert (info.segments, info.length, info.remaining) == (0, 0, 160)


def test_too_long_is_flagged():
    assert not analyze("a" * 153 * MAX_SEGMENTS).too_long
    assert analyze("a" * (153 * MAX_SEGMENTS + 1)).too_long


@given(gsm_basic_text)
def test_basic_gsm_follows_the_160_153_rule(text):
    n = len(text)
    info = analyze(text)
    assert info.encoding == "GSM-7"
    assert info.length == n
    expected = 0 if n == 0 else 1 if n <= 160 else math.ceil(n / 153)
    assert info.segments == expected
    capacity = 160 if expected <= 1 else 153
    assert 0 <= info.remaining < capacity or (n == 0 and info.remaining == 160)


@given(gsm_text)
def test_gsm_length_counts_extension_chars_twice(text):
    info = analyze(text)
    assert info.encoding == "GSM-7"
    assert info.length == len(text) + sum(ch in GSM7_EXTENDED for ch in text)
    if info.length > 160:
        assert info.segments >= math.ceil(info.length / 153)


@given(gsm_text, non_gsm_char, gsm_text)
def test_any_non_gsm_character_forces_ucs2(before, char, after):
    info = analyze(before + char + after)
    assert info.encoding == "UCS-2"
    assert char in info.unicode_chars
    assert len(set(info.unicode_chars)) == len(info.unicode_chars)


@given(st.lists(bmp_non_gsm, min_size=1, max_size=700))
def test_bmp_ucs2_follows_the_70_67_rule(chars):
    info = analyze("".join(chars))
    n = len(chars)
    assert info.length == n
    assert info.segments == (1 if n <= 70 else math.ceil(n / 67))


@given(st.text(max_size=400))
def test_smart_replacement_is_idempotent_and_never_adds_unicode(text):
    once = replace_smart_characters(text)
    assert replace_smart_characters(once) == once
    assert set(analyze(once).unicode_chars) <= set(analyze(text).unicode_chars)
