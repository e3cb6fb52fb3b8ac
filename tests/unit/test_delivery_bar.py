"""The dashboard's delivery bar reads the broadcast counters as "recipients now in this status"."""

from app.dashboard.figures import delivery_bar


def test_accepted_but_unconfirmed_texts_show_as_sent_not_queued():
    row = {
        "recipient_count": 100,
        "sent_count": 4,
        "delivered_count": 90,
        "failed_count": 2,
        "skipped_count": 0,
    }
    bar = delivery_bar(row)
    assert bar["sent"] == 4
    assert bar["delivered"] == 90
    assert bar["failed"] == 2
    assert bar["queued"] == 4
    assert bar["percent"] == 90
