"""The dashboard reads daily_stats and small indexed reads; leaders see their groups only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from app.dashboard import figures, scope, series, services
from app.models import Conversation, Member, User
from app.stats import bump, church_day
from tests.factories import MemberFactory
from tests.integration.dashboard.helpers import broadcast, group_member_ids, recipient


def _today(church):
    return church_day(church.timezone)


def test_cards_show_numbers_from_daily_stats(client, login_as, church):
    login_as("owner")
    today = _today(church)
    bump(church.id, today, sent=1200, delivered=1150, failed=12, inbound=37, opt_outs=3, segments=1500)
    bump(church.id, today - timedelta(days=10), sent=800, delivered=790, inbound=5)
    bump(church.id, today - timedelta(days=45), sent=99999)  # outside every window on the cards

    page = client.get("/").get_data(as_text=True)

    assert "2,000 sent" in page  # 30-day sends, the 45-day-old row left out
    assert "97.0%" in page  # (1150 + 790) / 2000
    assert "95.8%" in page  # 7 days: 1150 / 1200
    assert ">42<" in page  # replies over 30 days
    assert "Review failed messages" in page
    assert 'href="/failures"' in page


def test_member_counts_are_kept_by_triggers(db, church):
    def counts():
        return db.session.execute(
            text("SELECT opted_in, opted_out FROM member_counts WHERE church_id = :c"), {"c": church.id}
        ).one()

    real = db.session.execute(
        text(
            "SELECT count(*) FILTER (WHERE opted_out_at IS NULL), count(*) FILTER (WHERE opted_out_at IS NOT NULL) "
            "FROM members WHERE church_id = :c"
        ),
        {"c": church.id},
    ).one()
    assert tuple(counts()) == tuple(real)

    a, b = MemberFactory(church_id=church.id), MemberFactory(church_id=church.id)
    assert tuple(counts()) == (real[0] + 2, real[1])
    a.opted_out_at = datetime.now(UTC)
    db.session.flush()
    assert tuple(counts()) == (real[0] + 1, real[1] + 1)
    db.session.delete(b)
    db.session.delete(a)
    db.session.flush()
    assert tuple(counts()) == tuple(real)


def test_median_first_response_time(db, church):
    owner = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    now = datetime.now(UTC)
    convs = db.session.scalars(select(Conversation).where(Conversation.church_id == church.id)).all()
    assert len(convs) >= 3
    for conv in convs:  # only the three below were answered
        conv.first_response_at = None
    for conv, minutes in zip(convs, (4, 10, 60), strict=False):
        conv.created_at = now - timedelta(hours=3)
        conv.last_inbound_at = conv.created_at
        conv.first_response_at = conv.created_at + timedelta(minutes=minutes)
    db.session.flush()
    median, answered = figures.median_first_response(scope.scope_for(owner), now - timedelta(days=30))
    assert answered == 3
    assert median == pytest.approx(600)
    assert services.humanize_seconds(median) == "10 min"


@pytest.mark.usefixtures("no_demo_history")
def test_leader_sees_only_their_groups(db, client, login_as, church):
    leader = login_as("leader")
    youth = group_member_ids(church.id, "Youth")
    others = db.session.scalars(
        select(Member).where(Member.church_id == church.id, Member.id.not_in(youth)).limit(3)
    ).all()
    mine = db.session.scalars(select(Member).where(Member.id.in_(youth)).limit(2)).all()
    now = datetime.now(UTC) - timedelta(minutes=5)
    b = broadcast(church.id, recipient_count=5, sent_count=5, delivered_count=4, failed_count=1)
    for m in mine:
        recipient(b, m, sent_at=now, delivered_at=now)
    recipient(b, others[0], sent_at=now, failed_at=now)
    recipient(b, others[1], sent_at=now, delivered_at=now)
    recipient(b, others[2], sent_at=now, delivered_at=now)
    # The church-wide figures come from daily_stats, as the writers would have bumped them.
    bump(church.id, _today(church), sent=5, delivered=4, failed=1, segments=5)

    leader_view = services.overview(leader)
    owner = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    owner_view = services.overview(owner)

    assert leader_view["scope"].group_ids
    assert (leader_view["sent_30"], leader_view["failed_7"]) == (2, 0)
    assert (owner_view["sent_30"], owner_view["failed_7"]) == (5, 1)
    assert leader_view["members"]["opted_in"] + leader_view["members"]["opted_out"] == len(youth)
    assert leader_view["usage"].used == 2
    assert [r["id"] for r in leader_view["recent"]] == [b.id]

    page = client.get("/").get_data(as_text=True)
    assert "groups you lead" in page


def test_leader_without_groups_sees_zeros(db, church):
    from tests.factories import UserFactory

    lonely = UserFactory(church_id=church.id, role="leader", email="lonely@example.org")
    bump(church.id, _today(church), sent=50)
    view = services.overview(lonely)
    assert view["sent_30"] == 0 and view["members"]["opted_in"] == 0


@pytest.mark.parametrize("name", ["sends", "replies", "optouts"])
def test_charts_are_lazy_fragments_and_pages(client, login_as, church, name):
    login_as("owner")
    bump(church.id, _today(church), sent=30, delivered=29, inbound=4, opt_outs=2)
    page = client.get("/").get_data(as_text=True)
    assert f'hx-get="/dashboard/charts/{name}?days=' in page

    fragment = client.get(f"/dashboard/charts/{name}?days=90", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in body
    assert 'role="img"' in body and "<title id=" in body and "<desc id=" in body
    assert "last 90 days" in body

    full = client.get(f"/dashboard/charts/{name}?days=30").get_data(as_text=True)
    assert "<html" in full and "last 30 days" in full


def test_unknown_chart_is_404(client, login_as):
    login_as("owner")
    assert client.get("/dashboard/charts/nope").status_code == 404


def test_sends_chart_values(db, church):
    owner = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    today = _today(church)
    bump(church.id, today - timedelta(days=1), sent=40, delivered=38)
    chart = series.chart(owner, "sends", 30)
    assert len(chart.bars) == 60  # a sent and a delivered bar per day
    assert chart.legend[0][2] == 40 and chart.legend[1][2] == 38
    assert "40 sent, 38 delivered" in chart.bars[-3].label
    assert chart.bars[-4].h > chart.bars[-3].h > 0  # 40 sent stands taller than 38 delivered


def test_scheduled_and_recent_cards(db, client, login_as, church):
    login_as("owner")
    soon = datetime.now(UTC) + timedelta(days=2)
    broadcast(church.id, "Easter brunch sign-ups close Friday", status="scheduled", scheduled_at=soon)
    broadcast(church.id, "Choir practice moved to 6pm", recipient_count=10, sent_count=10, delivered_count=9)
    page = client.get("/").get_data(as_text=True)
    assert "Easter brunch sign-ups" in page
    assert "Choir practice moved" in page and "w-90" in page
