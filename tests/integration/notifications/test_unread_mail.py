"""Mail about unread texts, through the real SMTP sink: batched, once per unread spell, scoped.

The sweep takes the time as an argument: texts carry their own received_at, and the tests say
"ten minutes later" by passing that time, never by waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from app.inbox.inbound import handle_received
from app.models import Conversation, Group, GroupMember, Member, User
from app.notifications.services import Preferences, save_preferences
from app.notifications.unread_mail import sweep
from tests.conftest import deliver_mail
from tests.integration.inbox.conftest import conversation_of, telnyx_payload

LEADER = "leader@example.org"
NOW = datetime.now(UTC).replace(microsecond=0)


def _text(phone: str, body: str, at: datetime) -> None:
    handle_received(telnyx_payload(phone, text=body, received_at=at.isoformat()), None)


def _members(db, church, group_name: str | None = "Youth", n: int = 1) -> list[Member]:
    """Members (of the group, or of none) with no thread yet."""
    has_thread = select(Conversation.id).where(Conversation.member_id == Member.id).exists()
    in_group = (
        select(GroupMember.member_id)
        .join(Group, Group.id == GroupMember.group_id)
        .where(GroupMember.member_id == Member.id, Group.name == group_name)
        .exists()
    )
    in_any = select(GroupMember.member_id).where(GroupMember.member_id == Member.id).exists()
    query = select(Member).where(Member.church_id == church.id, Member.opted_out_at.is_(None), ~has_thread)
    query = query.where(in_group if group_name else ~in_any)
    members = db.session.scalars(query.order_by(Member.id).limit(n)).all()
    assert len(members) == n
    return members


@pytest.fixture(autouse=True)
def nothing_waiting(db, no_demo_history):
    """Start with no thread waiting for a mail (the demo seed leaves a few unread)."""
    db.session.execute(text("UPDATE conversations SET unread_since = NULL"))


@pytest.fixture
def leader(db):
    return db.session.scalar(select(User).where(User.email == LEADER))


def test_a_busy_evening_is_one_mail_listing_every_thread(app, db, church, leader, mailbox):
    members = _members(db, church, n=5)
    for i in range(50):  # fifty texts from five Youth members over fifty minutes
        _text(members[i % 5].phone_e164, f"Message {i}", NOW - timedelta(minutes=60 - i))
    db.session.commit()

    assert sweep(NOW) == 1
    assert sweep(NOW + timedelta(minutes=1)) == 0  # nothing new: nothing sent
    deliver_mail()
    [received] = mailbox.messages(LEADER)
    assert received["subject"] == "5 texts are waiting for you in Koinonia"
    base = app.config["APP_BASE_URL"]
    for member in members:
        conversation = conversation_of(db, church, member.phone_e164)
        assert f"{base}/inbox/{conversation.id}" in received["text"]
        assert f'href="{base}/inbox/{conversation.id}"' in received["html"]
    assert "(10 unread)" in received["text"]
    assert "Message" not in received["text"] and "Message" not in received["html"]  # no text by default
    assert f"{base}/account/notifications" in received["text"]
    assert len(mailbox.messages()) == 1  # nobody else leads Youth or holds these threads


def test_reading_the_thread_stops_the_mail_and_a_new_text_starts_again(client, db, church, leader, mailbox, login_as):
    [member] = _members(db, church)
    _text(member.phone_e164, "Are we still on for Friday?", NOW - timedelta(minutes=3))
    db.session.commit()
    assert sweep(NOW) == 0  # three minutes: not yet the five the leader waits

    conversation = conversation_of(db, church, member.phone_e164)
    login_as("leader")
    assert client.get(f"/inbox/{conversation.id}").status_code == 200  # read in time
    assert sweep(NOW + timedelta(minutes=10)) == 0

    _text(member.phone_e164, "Hello again", NOW + timedelta(minutes=11))
    db.session.commit()
    assert sweep(NOW + timedelta(minutes=17)) == 1  # a new spell, unread five minutes
    # Still unread, same spell: never mailed again, however long it waits.
    assert sweep(NOW + timedelta(hours=5)) == 0
    deliver_mail()
    assert len(mailbox.messages(LEADER)) == 1


def test_a_person_is_mailed_at_most_once_per_gap(db, church, leader, mailbox):
    first, second = _members(db, church, n=2)
    _text(first.phone_e164, "One", NOW - timedelta(minutes=10))
    db.session.commit()
    assert sweep(NOW) == 1
    _text(second.phone_e164, "Two", NOW - timedelta(minutes=4))
    db.session.commit()
    assert sweep(NOW + timedelta(minutes=5)) == 0  # due, but the leader was mailed five minutes ago
    assert sweep(NOW + timedelta(minutes=31)) == 1  # the next mail lists it
    deliver_mail()
    later = mailbox.messages(LEADER)[-1]
    assert later["subject"] == "A text is waiting for you in Koinonia"


def test_the_text_is_included_only_when_chosen(db, church, leader, mailbox):
    save_preferences(leader, Preferences(email_after_minutes=2, include_text=True))
    [member] = _members(db, church)
    _text(member.phone_e164, "Can I bring my cousin <b>Sam</b>?", NOW - timedelta(minutes=3))
    db.session.commit()
    assert sweep(NOW) == 1
    deliver_mail()
    [received] = mailbox.messages(LEADER)
    assert '"Can I bring my cousin <b>Sam</b>?"' in received["text"]
    assert "Can I bring my cousin &lt;b&gt;Sam&lt;/b&gt;?" in received["html"]


def test_each_person_hears_of_their_own_threads_only(db, church, leader, mailbox):
    owner = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    youth_assigned, youth_open = _members(db, church, n=2)
    [outsider] = _members(db, church, group_name=None)
    for member in (youth_assigned, youth_open, outsider):
        _text(member.phone_e164, "Hi", NOW - timedelta(minutes=30))
    conversation_of(db, church, youth_assigned.phone_e164).assignee_id = owner.id
    db.session.commit()

    assert sweep(NOW) == 2
    deliver_mail()
    [to_leader] = mailbox.messages(LEADER)
    [to_owner] = mailbox.messages("admin@example.org")
    assigned = conversation_of(db, church, youth_assigned.phone_e164).id
    unassigned = conversation_of(db, church, youth_open.phone_e164).id
    assert f"/inbox/{unassigned}" in to_leader["text"] and f"/inbox/{assigned}" not in to_leader["text"]
    assert f"/inbox/{assigned}" in to_owner["text"] and f"/inbox/{unassigned}" not in to_owner["text"]
    outside = conversation_of(db, church, outsider.phone_e164).id
    assert all(f"/inbox/{outside}\n" not in m["text"] for m in mailbox.messages())


def test_no_mail_for_those_who_turned_it_off(db, church, leader, mailbox):
    save_preferences(leader, Preferences(email_after_minutes=None))
    [member] = _members(db, church)
    _text(member.phone_e164, "Hi", NOW - timedelta(hours=2))
    db.session.commit()
    assert sweep(NOW) == 0
    deliver_mail()
    assert mailbox.messages() == []
