"""Merge fields never show raw where a person reads a broadcast: its page, the lists, the inbox's chip."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.inbox.inbound import handle_received
from app.models import Broadcast, Conversation, Member
from tests.integration.dashboard.helpers import broadcast, recipient
from tests.integration.inbox.conftest import telnyx_payload

BODY = "Hi {first_name|friend}! Youth picnic Saturday at 11 in the park. Bring a friend to {church_name}!"


def _sent_to(db, church, member):
    b = broadcast(church.id, body=BODY, status="sent", recipient_count=1, sent_count=1)
    recipient(b, member, sent_at=datetime.now(UTC))
    db.session.commit()
    return b


def _member(db, church):
    member = Member(church_id=church.id, first_name="Ada", last_name="Obi", phone_e164="+17735550190")
    db.session.add(member)
    db.session.flush()
    return member


def test_the_broadcast_page_previews_the_text_as_a_recipient_received_it(client, db, church, login_as):
    login_as("owner")
    b = _sent_to(db, church, _member(db, church))
    html = client.get(f"/broadcasts/{b.id}").get_data(as_text=True)
    bubble = html.split('class="bubble">', 1)[1].split("</p>", 1)[0]
    assert bubble.startswith("Hi Ada! Youth picnic") and church.name in bubble and "{" not in bubble
    assert "Preview for Ada O." in html


def test_lists_show_readable_placeholders_and_the_title_when_there_is_one(client, db, church, login_as):
    login_as("owner")
    _sent_to(db, church, _member(db, church))
    listing = client.get("/broadcasts").get_data(as_text=True)
    assert "Hi [first name]! Youth picnic Saturday at 11…" in listing and "{first_name" not in listing
    dashboard = client.get("/").get_data(as_text=True)
    assert "Hi [first name]! Youth picnic" in dashboard and "{first_name" not in dashboard
    broadcast(church.id, body=BODY, status="sent", title="Youth picnic")
    db.session.commit()
    assert ">Youth picnic</a>" in client.get("/broadcasts").get_data(as_text=True)


def test_the_inbox_reply_chip_shows_no_merge_tags(client, db, church, login_as):
    login_as("owner")
    member = _member(db, church)
    _sent_to(db, church, member)
    handle_received(telnyx_payload(member.phone_e164, text="Count me in"), None)
    db.session.commit()
    conv = db.session.scalar(select(Conversation).where(Conversation.member_id == member.id))
    html = client.get(f"/inbox/{conv.id}").get_data(as_text=True)
    assert "Reply to: Hi [first name]! Youth picnic" in html and "{first_name" not in html


def test_the_composer_takes_a_bounded_title(client, db, church, login_as, compose):
    login_as("owner")
    r = client.post("/broadcasts/confirm", data=compose(title="x" * 81))
    assert r.status_code == 422 and "At most 80 characters." in r.get_data(as_text=True)
    client.post("/broadcasts", data=compose(title="Youth night"))
    b = db.session.scalar(select(Broadcast).where(Broadcast.church_id == church.id).order_by(Broadcast.id.desc()))
    assert b.title == "Youth night"
