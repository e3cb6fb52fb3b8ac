"""Recurring broadcast rules: weekly days, monthly day, until, and DST in America/Chicago."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from app.broadcasts.schedules import Recurrence, build_rule, describe, local_to_utc, next_run, occurrences

TZ = "America/Chicago"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_weekly_on_chosen_days():
    rule = build_rule(Recurrence("weekly", datetime(2026, 11, 22, 9, 0), date(2026, 12, 31), ("WE", "SU")))
    assert "BYDAY=WE,SU" in rule
    runs = occurrences(rule, TZ, utc(2026, 11, 22, 0, 0), limit=4)
    # Sunday 22 Nov 09:00 CST = 15:00 UTC, then Wednesday 25, Sunday 29, Wednesday 2 Dec.
    assert runs == [utc(2026, 11, 22, 15), utc(2026, 11, 25, 15), utc(2026, 11, 29, 15), utc(2026, 12, 2, 15)]


def test_until_is_inclusive_and_ends_the_rule():
    rule = build_rule(Recurrence("weekly", datetime(2026, 11, 22, 9, 0), date(2026, 11, 29), ("SU",)))
    assert occurrences(rule, TZ, utc(2026, 11, 1), limit=10) == [utc(2026, 11, 22, 15), utc(2026, 11, 29, 15)]
    assert next_run(rule, TZ, utc(2026, 11, 29, 15)) is None


def test_monthly_on_a_day():
    rule = build_rule(Recurrence("monthly", datetime(2026, 11, 22, 18, 30), date(2027, 3, 1), month_day=15))
    runs = occurrences(rule, TZ, utc(2026, 11, 22), limit=5)
    assert [r.astimezone(ZoneInfo(TZ)).day for r in runs] == [15, 15, 15]
    assert runs[0] == utc(2026, 12, 16, 0, 30)  # 18:30 CST on 15 Dec is 00:30 UTC on the 16th


def test_monthly_31st_falls_on_the_last_day_of_short_months():
    rule = build_rule(Recurrence("monthly", datetime(2027, 1, 1, 9, 0), date(2027, 5, 1), month_day=31))
    local_days = [r.astimezone(ZoneInfo(TZ)).date() for r in occurrences(rule, TZ, utc(2027, 1, 1))]
    assert local_days == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]


def test_dst_keeps_the_wall_clock_time():
    # DST ends in Chicago on 1 Nov 2026 and starts on 14 Mar 2027: 9:00 local stays 9:00 local.
    rule = build_rule(Recurrence("weekly", datetime(2026, 10, 25, 9, 0), date(2027, 3, 21), ("SU",)))
    runs = occurrences(rule, TZ, utc(2026, 10, 24), limit=2)
    assert runs == [utc(2026, 10, 25, 14), utc(2026, 11, 1, 15)]  # CDT (UTC-5), then CST (UTC-6)
    spring = occurrences(rule, TZ, utc(2027, 3, 6), limit=2)
    assert spring == [utc(2027, 3, 7, 15), utc(2027, 3, 14, 14)]


def test_local_to_utc_and_describe():
    assert local_to_utc(date(2026, 7, 4), datetime(2026, 7, 4, 9).time(), TZ) == utc(2026, 7, 4, 14)
    rule = build_rule(Recurrence("weekly", datetime(2026, 11, 22, 9, 0), date(2026, 12, 31), ("SU", "WE")))
    assert describe(rule) == "Weekly on Wed, Sun at 9:00 AM until Dec 31, 2026"
    monthly = build_rule(Recurrence("monthly", datetime(2026, 11, 22, 9, 0), date(2026, 12, 31), month_day=1))
    assert describe(monthly) == "Monthly on the 1st at 9:00 AM until Dec 31, 2026"


def test_a_month_day_out_of_range_never_becomes_a_rule():
    import pytest

    for day in (0, 32, 100_000_000):
        rec = Recurrence("monthly", datetime(2025, 1, 5, 9, 0), date(2025, 12, 31), month_day=day)
        with pytest.raises(ValueError):
            build_rule(rec)
