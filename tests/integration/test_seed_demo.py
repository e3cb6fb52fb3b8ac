"""`flask seed-demo` writes the rows its dashboard figures are counted from, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from app.dashboard.services import overview
from app.models import User
from app.seed import seed_demo
from app.stats import church_day, rebuild
from app.usage import segments_used

TABLES = (
    "broadcasts",
    "broadcast_recipients",
    "conversations",
    "conversation_messages",
    "consent_events",
    "members",
    "daily_stats",
)


def figures(db, church_id: int) -> dict:
    days = db.session.execute(
        text("SELECT * FROM daily_stats WHERE church_id = :c ORDER BY day"), {"c": church_id}
    ).all()
    counts = db.session.execute(
        text("SELECT opted_in, opted_out FROM member_counts WHERE church_id = :c"), {"c": church_id}
    ).one()
    return {"days": [tuple(r) for r in days], "members": tuple(counts)}


def row_counts(db) -> dict[str, int]:
    return {t: db.session.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES}


def test_seeded_figures_are_what_rebuild_stats_gives(db, church, other_church):
    for c in (church, other_church):
        seeded = figures(db, c.id)
        assert any(day[2] for day in seeded["days"]), "the seed writes a history of sends"
        rebuild(c.id)
        assert figures(db, c.id) == seeded


def test_seed_demo_twice_adds_nothing(db, church):
    before = row_counts(db)
    stats_before = figures(db, church.id)
    used = segments_used(church.id)
    seed_demo(60)
    db.session.flush()
    assert row_counts(db) == before
    assert figures(db, church.id) == stats_before
    assert segments_used(church.id) == used


def test_seeded_replies_sit_in_conversations_with_their_broadcast(db, church):
    replies = db.session.scalar(
        text(
            "SELECT count(*) FROM conversation_messages m JOIN broadcast_recipients r "
            "ON r.broadcast_id = m.broadcast_id AND r.member_id = (SELECT member_id FROM conversations "
            "WHERE id = m.conversation_id) WHERE m.church_id = :c AND m.direction = 'in' AND r.status = 'delivered'"
        ),
        {"c": church.id},
    )
    assert replies > 0
    # Nobody got a text before they opted in or after they opted out.
    stray = db.session.scalar(
        text(
            "SELECT count(*) FROM broadcast_recipients r JOIN broadcasts b ON b.id = r.broadcast_id "
            "JOIN members m ON m.id = r.member_id WHERE r.church_id = :c AND (m.consent_at > b.started_at "
            "OR m.opted_out_at <= b.started_at)"
        ),
        {"c": church.id},
    )
    assert stray == 0


def test_seeded_dashboard_cards_agree(db, church, other_church):
    now = datetime.now(UTC)
    for c, email in ((church, "admin@example.org"), (other_church, "admin@hope.example.org")):
        owner = db.session.scalar(select(User).where(User.email == email))
        cards = overview(owner, now)
        assert cards["sent_30"] > 0
        assert cards["recent"], "recent broadcasts are listed when texts were sent"
        month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        sent_this_month = db.session.scalar(
            text(
                "SELECT coalesce(sum(segments), 0) FROM broadcast_recipients WHERE church_id = :c AND sent_at >= :start"
            ),
            {"c": c.id, "start": month_start},
        )
        assert cards["usage"].used == sent_this_month
        since = church_day(c.timezone, now) - timedelta(days=29)
        inbound = db.session.scalar(
            text(
                "SELECT count(*) FROM conversation_messages m JOIN churches ch ON ch.id = m.church_id "
                "WHERE m.church_id = :c AND m.direction = 'in' "
                "AND (m.created_at AT TIME ZONE ch.timezone)::date >= :since"
            ),
            {"c": c.id, "since": since},
        )
        assert cards["replies_30"] == inbound
        assert cards["unread"] > 0
        assert cards["replies_7"] >= cards["unread"], "every unread conversation holds a recent reply"
        assert cards["answered"] > 0
        assert cards["median_response"] < 3600, "the seeded answers came within minutes"


def test_seeded_unread_conversations_wait_for_the_unread_mail(db, church):
    rows = db.session.execute(
        text("SELECT unread_count, unread_since, last_inbound_at FROM conversations WHERE church_id = :c"),
        {"c": church.id},
    ).all()
    unread = [r for r in rows if r.unread_count > 0]
    assert unread
    assert all(r.unread_since is not None and r.unread_since == r.last_inbound_at for r in unread)
    assert all(r.unread_since is None for r in rows if r.unread_count == 0)


def test_dashboard_page_lists_the_seeded_broadcasts(client, login_as):
    login_as("hope")
    page = client.get("/")
    assert page.status_code == 200
    assert "No broadcasts yet" not in page.get_data(as_text=True)
