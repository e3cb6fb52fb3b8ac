"""Waits: the next time of day on the church's clock (across a DST change), and how waits read."""

from __future__ import annotations

from datetime import UTC, datetime, time
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from app.automations.engine import next_time_of_day
from app.automations.services import wait_label

CHICAGO = ZoneInfo("America/Chicago")
CHURCH = SimpleNamespace(timezone="America/Chicago")


def _step(hour: int, minute: int = 0):
    return SimpleNamespace(at_time=time(hour, minute))


def test_later_today_when_the_time_is_still_ahead():
    now = datetime(2026, 3, 4, 14, 0, tzinfo=CHICAGO)
    assert next_time_of_day(CHURCH, _step(18), now) == datetime(2026, 3, 4, 18, 0, tzinfo=CHICAGO)


def test_tomorrow_when_the_time_has_passed_or_is_now():
    now = datetime(2026, 3, 4, 9, 30, tzinfo=CHICAGO)
    assert next_time_of_day(CHURCH, _step(9, 30), now) == datetime(2026, 3, 5, 9, 30, tzinfo=CHICAGO)


def test_the_wall_clock_time_holds_across_the_spring_change():
    # Clocks go forward on 8 March 2026 in Chicago: 9:00 is then 14:00 UTC, not 15:00.
    now = datetime(2026, 3, 7, 16, 0, tzinfo=UTC)  # 10:00 CST on the Saturday
    due = next_time_of_day(CHURCH, _step(9), now)
    assert due.astimezone(CHICAGO).replace(tzinfo=None) == datetime(2026, 3, 8, 9, 0)
    assert due.astimezone(UTC).hour == 14


@pytest.mark.parametrize(
    ("minutes", "label"),
    [(1, "1 minute"), (90, "90 minutes"), (60, "1 hour"), (180, "3 hours"), (1440, "1 day"), (2880, "2 days")],
)
def test_waits_read_as_people_say_them(minutes, label):
    assert wait_label(minutes) == label
