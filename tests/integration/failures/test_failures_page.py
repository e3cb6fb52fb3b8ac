"""The failed-texts page: broadcast recipients and replies, plain reasons, retry, leaders' scope, paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.failures.services import failure_page
from app.inbox.inbound import handle_received
from app.models import Broadcast, BroadcastRecipient, Conversation, ConversationMessage, Member, User
from tests.integration.dashboard.helpers import broadcast, group_member_ids, recipient
from tests.integration.inbox.conftest import telnyx_payload


def _failed(b, member, code, minutes_ago=0):
    row = recipient(b, member, failed_at=datetime.now(UTC) - timedelta(minutes=minutes_ago))
    row.error_code = code
    return row


def _youth_and_other(db, church):
    youth = group_member_ids(church.id, "Youth")
    members = db.session.scalars(select(Member).where(Member.church_id == church.id).order_by(Member.id)).all()
    inside = next(m for m in members if m.id in youth)
    outside = next(m for m in members if m.id not in youth and m.phone_e164)
    return inside, outside


def _failed_reply(db, church, member, code="connect"):
    handle_received(telnyx_payload(member.phone_e164, text="Is there parking?"), None)
    conv = db.session.scalar(select(Conversation).where(Conversation.member_id == member.id))
    message = ConversationMessage(
        church_id=church.id, conversation_id=conv.id, direction="out", body="Yes, behind the hall.", status="failed"
    )
    message.error_code = code
    db.session.add(message)
    db.session.flush()
    return message


def test_the_dashboard_link_leads_to_failures_with_reasons_and_retry_only_where_it_helps(client, db, church, login_as):
    login_as("owner")
    inside, outside = _youth_and_other(db, church)
    b = broadcast(church.id, body="Hi {first_name|friend}! Picnic Saturday", status="sent")
    _failed(b, inside, "10007")
    _failed(b, outside, "40300")
    reply = _failed_reply(db, church, outside)
    db.session.commit()
    assert 'href="/failures"' in client.get("/").get_data(as_text=True)
    assert client.get("/broadcasts?status=failed").headers["Location"].endswith("/failures")
    html = client.get("/failures").get_data(as_text=True)
    assert "The texting service had an unexpected problem. It will be retried." in html
    assert "This person replied STOP and has opted out of texts." in html
    assert "We could not reach the texting service." in html and "Yes, behind the hall." in html
    assert "Hi [first name]! Picnic Saturday" in html
    assert html.count(">Retry</button>") == 2  # the 10007 recipient and the reply, not the opt-out
    assert f"/failures/replies/{reply.id}/retry" in html


@pytest.mark.usefixtures("no_demo_history")
def test_a_leader_sees_only_their_groups_failures(client, db, church, login_as):
    inside, outside = _youth_and_other(db, church)
    b = broadcast(church.id, body="Choir practice moved", status="sent")
    _failed(b, inside, "30003")
    _failed(b, outside, "30003")
    _failed_reply(db, church, outside)
    db.session.commit()
    login_as("leader")
    rows = client.get("/failures").get_data(as_text=True).split('id="failure-rows"', 1)[1]
    assert rows.count("<tr>") == 1 and f"/members/{inside.id}" in rows and f"/members/{outside.id}" not in rows


def test_retry_sends_a_one_person_broadcast_once_and_never_after_an_opt_out(client, db, church, login_as):
    login_as("owner")
    inside, outside = _youth_and_other(db, church)
    b = broadcast(church.id, body="Choir practice moved", status="sent", from_number="+13125550100")
    transient = _failed(b, inside, "10007")
    opted = _failed(b, outside, "40300")
    db.session.commit()

    def count():
        return db.session.scalar(select(func.count()).select_from(Broadcast).where(Broadcast.church_id == church.id))

    before = count()
    assert client.post(f"/failures/recipients/{transient.id}/retry").status_code == 302
    assert count() == before + 1
    retry = db.session.scalar(select(Broadcast).where(Broadcast.church_id == church.id).order_by(Broadcast.id.desc()))
    [row] = db.session.scalars(select(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == retry.id)).all()
    assert row.member_id == inside.id and retry.body == "Choir practice moved"
    client.post(f"/failures/recipients/{transient.id}/retry")  # a second click sends nothing more
    assert count() == before + 1
    page = client.get("/failures").get_data(as_text=True)
    assert "Texted again since" in page
    response = client.post(f"/failures/recipients/{opted.id}/retry", follow_redirects=True)
    assert "Sending again would fail the same way" in response.get_data(as_text=True)
    assert count() == before + 1


def test_retry_of_a_reply_sends_it_again(client, db, church, login_as):
    login_as("owner")
    _, outside = _youth_and_other(db, church)
    reply = _failed_reply(db, church, outside)
    db.session.commit()
    client.post(f"/failures/replies/{reply.id}/retry")
    again = db.session.scalar(
        select(ConversationMessage)
        .where(ConversationMessage.conversation_id == reply.conversation_id, ConversationMessage.id > reply.id)
        .order_by(ConversationMessage.id.desc())
    )
    assert again is not None and again.body == reply.body and again.status == "sending"


@pytest.mark.usefixtures("no_demo_history")
def test_failures_page_by_keyset_without_overlap(db, church):
    owner = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    members = db.session.scalars(select(Member).where(Member.church_id == church.id).limit(5)).all()
    b = broadcast(church.id, body="Five failures", status="sent")
    for n, m in enumerate(members):
        _failed(b, m, "30003", minutes_ago=n)
    db.session.commit()
    seen, cursor = [], ""
    while True:
        page = failure_page(owner, cursor, limit=2)
        seen += [(f.kind, f.id) for f in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)) == 5


def test_another_churchs_failure_cannot_be_retried(client, db, church, login_as):
    inside, _ = _youth_and_other(db, church)
    b = broadcast(church.id, body="Grace only", status="sent")
    row = _failed(b, inside, "10007")
    db.session.commit()
    login_as("hope")
    assert client.post(f"/failures/recipients/{row.id}/retry").status_code == 404
    assert "Grace only" not in client.get("/failures").get_data(as_text=True)


@pytest.mark.usefixtures("no_demo_history")
def test_a_text_scheduled_for_later_does_not_count_as_a_retry(client, db, church, login_as):
    login_as("owner")
    inside, _ = _youth_and_other(db, church)
    b = broadcast(church.id, body="Choir practice moved", status="sent")
    _failed(b, inside, "10007")
    later = broadcast(
        church.id, body="Christmas Eve", status="scheduled", scheduled_at=datetime.now(UTC) + timedelta(days=9)
    )
    recipient(later, inside)
    db.session.commit()
    html = client.get("/failures").get_data(as_text=True)
    assert ">Retry</button>" in html and "Texted again since" not in html
