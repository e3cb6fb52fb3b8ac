"""`flask rebuild-stats --church ID` replaces one church's daily_stats with figures from the raw rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from app.stats import bump, church_day


def test_rebuild_stats_command_recomputes_one_church(app, db, church, other_church):
    today = church_day(church.timezone)
    bump(church.id, today - timedelta(days=200), sent=999)  # a figure with no rows behind it
    bump(other_church.id, today - timedelta(days=200), sent=5)
    result = app.test_cli_runner().invoke(args=["rebuild-stats", "--church", str(church.id)])
    assert result.exit_code == 0, result.output
    assert f"church {church.id}:" in result.output
    sent = db.session.scalar(
        text("SELECT coalesce(sum(sent), 0) FROM daily_stats WHERE church_id = :c AND day = :d"),
        {"c": church.id, "d": today - timedelta(days=200)},
    )
    assert sent == 0
    inbound = db.session.scalar(text("SELECT sum(inbound) FROM daily_stats WHERE church_id = :c"), {"c": church.id})
    assert inbound > 0  # the seeded conversations' inbound messages
    other = db.session.scalar(
        text("SELECT sent FROM daily_stats WHERE church_id = :c AND day = :d"),
        {"c": other_church.id, "d": today - timedelta(days=200)},
    )
    assert other == 5
