"""Provider webhooks partitioned by day: where an event lands, redeliveries, retention (app/partitions.py)."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from app import partitions
from app.security.signatures import sign_telnyx
from tests.integration.inbox.conftest import envelope, telnyx_payload


def _post(client, key, body: dict):
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **sign_telnyx(raw, key, int(time.time()))}
    return client.post("/webhooks/telnyx", data=raw, headers=headers)


def _where(db, event_id: str) -> list[str]:
    return list(
        db.session.scalars(
            text("SELECT tableoid::regclass::text FROM webhook_events WHERE event_id = :id"), {"id": event_id}
        )
    )


def _store(db, event_id: str, occurred_at: datetime, *, processed: bool = True) -> None:
    db.session.execute(
        text(
            "INSERT INTO webhook_events (provider, event_id, event_type, payload, occurred_at, processed_at) "
            "VALUES ('telnyx', :id, 'message.finalized', '{}', :at, CASE WHEN :done THEN now() END)"
        ),
        {"id": event_id, "at": occurred_at, "done": processed},
    )


def test_an_event_lands_in_the_partition_of_its_own_day_and_once(client, db, signing_key):
    body = envelope(telnyx_payload("+17735550301"))
    yesterday = datetime.now(UTC) - timedelta(days=1)
    body["data"]["occurred_at"] = yesterday.isoformat()
    assert _post(client, signing_key, body).get_json() == {"status": "stored"}
    # Redelivered (Telnyx retries for hours, so possibly after midnight): still a duplicate.
    assert _post(client, signing_key, body).get_json() == {"status": "duplicate"}
    assert _where(db, body["data"]["id"]) == [partitions.partition_name(yesterday.date())]


def test_an_event_far_outside_the_window_lands_in_the_default_partition(client, db, signing_key):
    body = envelope(telnyx_payload("+17735550302"))
    body["data"]["occurred_at"] = "2019-03-01T12:00:00Z"
    assert _post(client, signing_key, body).status_code == 200
    assert _where(db, body["data"]["id"]) == [partitions.DEFAULT]


def test_maintain_makes_the_coming_week_and_drops_expired_days(app, db):
    today = datetime.now(UTC).date()
    later = today + timedelta(days=40)  # as if 40 days had passed
    _store(db, "old-processed", datetime.combine(today - timedelta(days=5), datetime.min.time(), UTC))
    _store(db, "old-pending", datetime.combine(today - timedelta(days=3), datetime.min.time(), UTC), processed=False)
    db.session.commit()
    done = partitions.maintain(later)
    existing = partitions.partitions()
    assert all(later + timedelta(days=n) in existing for n in range(partitions.AHEAD_DAYS + 1))
    cutoff = later - timedelta(days=app.config["WEBHOOK_EVENTS_RETENTION_DAYS"])
    assert partitions.partition_name(today - timedelta(days=5)) in done["dropped"]
    # The day holding an unprocessed event is kept, past its retention, until it is processed.
    assert done["kept"] == [partitions.partition_name(today - timedelta(days=3))]
    assert [day for day in existing if day < cutoff] == [today - timedelta(days=3)]
    assert _where(db, "old-processed") == [] and len(_where(db, "old-pending")) == 1
    assert partitions.maintain(later) == {"created": [], "dropped": [], "kept": done["kept"]}  # idempotent


def test_a_day_whose_rows_wait_in_the_default_gets_them_moved_in(db):
    far = date(2031, 5, 17)
    when = datetime.combine(far, datetime.min.time(), UTC) + timedelta(hours=9)
    _store(db, "stranded", when)
    assert _where(db, "stranded") == [partitions.DEFAULT]
    partitions.create_partition(far)
    assert _where(db, "stranded") == [partitions.partition_name(far)]
    again = db.session.execute(  # the unique key still holds across the move
        text(
            "INSERT INTO webhook_events (provider, event_id, event_type, payload, occurred_at) "
            "VALUES ('telnyx', 'stranded', 'message.finalized', '{}', :at) "
            "ON CONFLICT (provider, event_id, occurred_at) DO NOTHING"
        ),
        {"at": when},
    )
    assert again.rowcount == 0 and len(_where(db, "stranded")) == 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-07T10:00:00.123456+00:00", datetime(2026, 12, 7, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2026-12-07T10:00:00Z", datetime(2026, 12, 7, 10, tzinfo=UTC)),
        ("2026-12-07T10:00:00", datetime(2026, 12, 7, 10, tzinfo=UTC)),
        (1796637600, datetime(2026, 12, 7, 10, tzinfo=UTC)),
    ],
)
def test_event_time_reads_telnyx_and_stripe_times(value, expected):
    assert partitions.event_time(value) == expected


@pytest.mark.parametrize("value", [None, "", "yesterday", "9" * 100, True, 10**20, {"a": 1}])
def test_event_time_falls_back_to_now(value):
    assert abs(partitions.event_time(value) - datetime.now(UTC)) < timedelta(seconds=5)
