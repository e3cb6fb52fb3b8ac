"""The composer's counter and deliverability checks (pure functions, no database)."""

from decimal import Decimal

from app.broadcasts.composer import (
    PRICE_PER_SEGMENT,
    CheckInput,
    count,
    deliverability_checks,
    links,
    mostly_caps,
    names_church,
    shorteners,
)
from app.broadcasts.quiet_hours import in_quiet_hours

CHURCH = "Grace Community Church"


def warnings(body: str, segments: int = 1, first_contacts: int = 0) -> list[str]:
    checks = deliverability_checks(CheckInput(body, CHURCH, segments, first_contacts))
    return [c.message for c in checks if c.level == "warn"]


def test_counter_gsm_single_segment_and_cost():
    c = count("Hello from Grace", recipients=100, remaining_allowance=1000)
    assert (c.chars, c.encoding, c.segments, c.total_segments) == (16, "GSM-7", 1, 100)
    assert c.cost == (PRICE_PER_SEGMENT * 100).quantize(Decimal("0.01"))
    assert c.left_after == 900


def test_counter_switches_to_ucs2_and_names_the_characters():
    c = count("See you Sunday 🙏 — bring a friend", recipients=1)
    assert c.encoding == "UCS-2"
    assert c.info.unicode_chars == ("🙏", "—")
    assert c.fixable  # the dash can be replaced, even though the emoji cannot


def test_smart_quotes_alone_are_fixable_and_counted_crlf_as_lf():
    c = count("It\u2019s on\r\nSunday", recipients=1)
    assert c.fixable and c.encoding == "UCS-2"
    assert c.chars == len("It\u2019s on\nSunday")


def test_counter_multi_segment_and_over_allowance():
    c = count("a" * 161, recipients=10, remaining_allowance=15)
    assert c.segments == 2 and c.total_segments == 20 and c.left_after == -5


def test_shorteners_and_links():
    assert shorteners("Sign up: https://bit.ly/abc and tinyurl.com/x") == ["https://bit.ly/abc", "tinyurl.com/x"]
    assert shorteners("Give at https://gracechurch.org/give") == []
    assert links("Give at https://gracechurch.org/give.") == ["https://gracechurch.org/give"]
    assert links("Hi {first_name|friend}, see you.") == []


def test_shortener_warning_replaces_the_generic_link_warning():
    w = warnings("Grace: sign up at bit.ly/xyz")
    assert any("shortener" in m for m in w)
    assert not any(m.startswith("Contains a link") for m in w)
    assert any(m.startswith("Contains a link") for m in warnings("Grace: https://gracechurch.org/events"))


def test_names_church():
    assert names_church("Grace Community Church: service at 9", CHURCH)
    assert names_church("From Grace: service at 9", CHURCH)
    assert names_church("{church_name}: service at 9", CHURCH)
    assert not names_church("Church service at 9", CHURCH)
    assert any("name the church" in m for m in warnings("Service at 9 tomorrow"))


def test_all_caps():
    assert mostly_caps("GRACE: SERVICE IS AT NINE tomorrow")
    assert not mostly_caps("Grace: join us for VBS this week")
    assert not mostly_caps("OK")
    assert any("CAPITALS" in m for m in warnings("GRACE SERVICE CANCELLED TODAY"))


def test_segments_warning():
    assert any("4 segments" in m for m in warnings("Grace: hi", segments=4))
    assert not any("segments" in m for m in warnings("Grace: hi", segments=3))
    assert any("refuse" in m for m in warnings("Grace: hi", segments=11))


def test_first_message_to_imported_members_needs_stop_language():
    assert any("newly imported" in m for m in warnings("Grace: welcome!", first_contacts=3))
    assert not any("newly imported" in m for m in warnings("Grace: welcome! Reply STOP to opt out", first_contacts=3))
    assert not any("newly imported" in m for m in warnings("Grace: welcome!", first_contacts=0))


def test_clean_message_is_all_clear():
    checks = deliverability_checks(CheckInput("Grace: see you Sunday at 9, {first_name|friend}!", CHURCH, 1))
    assert [c.level for c in checks] == ["ok"]


def test_quiet_hours_wrap_midnight():
    from datetime import UTC, datetime, time
    from types import SimpleNamespace

    church = SimpleNamespace(quiet_hours_start=time(21), quiet_hours_end=time(8), timezone="America/Chicago")
    # 03:00 UTC is 21:00 CST (November), 14:00 UTC is 08:00 CST.
    assert in_quiet_hours(church, datetime(2026, 11, 23, 3, 30, tzinfo=UTC))
    assert in_quiet_hours(church, datetime(2026, 11, 23, 13, 59, tzinfo=UTC))
    assert not in_quiet_hours(church, datetime(2026, 11, 23, 14, 0, tzinfo=UTC))
    assert not in_quiet_hours(church, datetime(2026, 11, 23, 20, 0, tzinfo=UTC))


def test_bare_shortener_domains_are_caught():
    assert shorteners("Register: s.id/abc or rb.gy/x1") == ["s.id/abc", "rb.gy/x1"]
    assert shorteners("Meet at 7 p.m. by the gym") == []
