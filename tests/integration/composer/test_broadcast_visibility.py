"""Leaders see the broadcasts that reached their groups, and in them only their groups' members."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.broadcasts.visibility import led_members
from app.models import Member, User
from app.people.phones import format_national
from tests.integration.dashboard.helpers import broadcast, recipient


@pytest.fixture
def scene(db, church):
    """A broadcast to everyone (failures in and out of the leader's groups) and one that missed them."""
    leader = db.session.scalar(select(User).where(User.email == "leader@example.org"))
    mine = db.session.scalars(select(Member).where(Member.id.in_(led_members(leader))).order_by(Member.id)).all()
    others = db.session.scalars(
        select(Member)
        .where(Member.church_id == church.id, Member.id.not_in(led_members(leader)), Member.phone_e164.is_not(None))
        .order_by(Member.id)
        .limit(2)
    ).all()
    now = datetime.now(UTC)
    everyone = broadcast(church.id, "To everyone", recipient_count=4, delivered_count=1, failed_count=3)
    recipient(everyone, mine[0], sent_at=now, failed_at=now)
    recipient(everyone, mine[1], sent_at=now, delivered_at=now)
    recipient(everyone, others[0], sent_at=now, failed_at=now)
    recipient(everyone, others[1], sent_at=now, failed_at=now)
    elsewhere = broadcast(church.id, "To another group", recipient_count=1, failed_count=1)
    recipient(elsewhere, others[0], sent_at=now, failed_at=now)
    return {"everyone": everyone, "elsewhere": elsewhere, "mine": mine, "outsider": others[0]}


def test_leader_lists_only_broadcasts_that_reached_their_groups(client, login_as, scene):
    login_as("leader")
    page = client.get("/broadcasts").get_data(as_text=True)
    assert f'/broadcasts/{scene["everyone"].id}"' in page
    assert f'/broadcasts/{scene["elsewhere"].id}"' not in page
    older = client.get(f"/broadcasts?before={scene['elsewhere'].id + 1}", headers={"HX-Request": "true"})
    assert f'/broadcasts/{scene["elsewhere"].id}"' not in older.get_data(as_text=True)
    assert f'/broadcasts/{scene["everyone"].id}"' in older.get_data(as_text=True)


def test_leader_sees_only_their_groups_recipients_in_a_broadcast(client, login_as, scene):
    login_as("leader")
    everyone, outsider = scene["everyone"], scene["outsider"]
    page = client.get(f"/broadcasts/{everyone.id}").get_data(as_text=True)
    assert format_national(scene["mine"][0].phone_e164) in page
    assert format_national(outsider.phone_e164) not in page and outsider.full_name not in page
    progress = client.get(f"/broadcasts/{everyone.id}/progress", headers={"HX-Request": "true"})
    text = progress.get_data(as_text=True)
    assert "<html" not in text and "2 recipients" in text and "Failed <strong>1</strong>" in text


def test_leader_gets_404_for_a_broadcast_that_missed_their_groups(client, login_as, scene):
    login_as("leader")
    elsewhere = scene["elsewhere"].id
    assert client.get(f"/broadcasts/{elsewhere}").status_code == 404
    assert client.get(f"/broadcasts/{elsewhere}/progress", headers={"HX-Request": "true"}).status_code == 404
    assert client.post(f"/broadcasts/{elsewhere}/cancel").status_code == 404


def test_owner_still_sees_every_broadcast_and_recipient(client, login_as, scene):
    login_as("owner")
    listing = client.get("/broadcasts").get_data(as_text=True)
    assert f'/broadcasts/{scene["elsewhere"].id}"' in listing
    page = client.get(f"/broadcasts/{scene['everyone'].id}").get_data(as_text=True)
    assert format_national(scene["outsider"].phone_e164) in page and "4 recipients" in page
