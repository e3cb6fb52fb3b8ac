"""Pure parts of the delivery engine: merge fields, quiet hours, reading status events, specs."""

from __future__ import annotations

from datetime import UTC, datetime, time
from types import SimpleNamespace

import pytest

from app.broadcasts.audience import AudienceSpec
from app.broadcasts.quiet_hours import quiet_until
from app.delivery.statuses import status_update_from_event
from app.merge import estimate, fields_used, render

CHURCH = SimpleNamespace(name="Grace Community Church")
AB = SimpleNamespace(first_name="A", last_name="B")


@pytest.mark.parametrize(
    ("body", "member", "expected"),
    [
        ("Hi {first_name}!", SimpleNamespace(first_name="Ruth", last_name="Boaz"), "Hi Ruth!"),
        ("Hi {first_name|friend}!", SimpleNamespace(first_name="  ", last_name=""), "Hi friend!"),
        ("Hi {first_name|friend}!", None, "Hi friend!"),
        (
            "{first_name} {last_name} at {church_name}",
            SimpleNamespace(first_name="A", last_name="B"),
            "A B at Grace Community Church",
        ),
        ("Keep {unknown} and {braces}", AB, "Keep {unknown} and {braces}"),
        ("{ first_name | dear one }", SimpleNamespace(first_name="", last_name=""), "dear one"),
    ],
)
def test_render(body, member, expected):
    assert render(body, member, CHURCH) == expected


def test_fields_and_estimate():
    assert fields_used("{last_name} {first_name|x} {first_name}") == ["last_name", "first_name"]
    assert estimate("Hi {first_name}", CHURCH) == "Hi Jonathan"


def church(start, end, tz="America/Chicago"):
    return SimpleNamespace(quiet_hours_start=start, quiet_hours_end=end, timezone=tz)


def test_quiet_hours_wrap_midnight_and_end_in_the_morning():
    c = church(time(21, 0), time(8, 0))
    late = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)  # 22:30 in Chicago (CST)
    assert quiet_until(c, late) == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    early = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 06:00 Chicago
    assert quiet_until(c, early) == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert quiet_until(c, datetime(2026, 3, 2, 18, 0, tzinfo=UTC)) is None  # noon
    assert quiet_until(church(None, None), late) is None


def test_status_events_read_like_telnyx_sends_them():
    base = {"id": "m1", "to": [{"phone_number": "+13125550142", "status": "sent"}], "from": {"phone_number": "+1"}}
    sent = status_update_from_event("message.sent", base)
    assert (sent.status, sent.error_code) == ("sent", None)
    failed = status_update_from_event(
        "message.finalized",
        {**base, "to": [{"status": "delivery_failed"}], "errors": [{"code": "30007"}], "cost": {"amount": 0.004}},
    )
    assert (failed.status, failed.error_code, str(failed.cost)) == ("failed", "30007", "0.004")
    assert status_update_from_event("message.finalized", {**base, "to": [{"status": "queued"}]}) is None
    assert status_update_from_event("message.sent", {"id": None}) is None


def test_audience_spec_round_trip_ignores_junk():
    spec = AudienceSpec.from_dict({"everyone": "", "group_ids": ["3", "x", 3, -1], "member_ids": [7]})
    assert spec == AudienceSpec(everyone=False, group_ids=[3], member_ids=[7])
    assert AudienceSpec.from_dict(spec.to_dict()) == spec
    assert AudienceSpec().is_empty and not spec.is_empty
