"""message.received with Telnyx-shaped payloads: routing, unknown contacts, media, idempotency, broadcasts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app import cache
from app.inbox.inbound import handle_received
from app.models import (
    Broadcast,
    BroadcastRecipient,
    ConversationMessage,
    DailyStat,
    Group,
    GroupMember,
    Member,
    User,
)
from tests.integration.inbox.conftest import (
    GRACE_NUMBER,
    conversation_of,
    messages_of,
    telnyx_payload,
)


def test_unknown_number_creates_unknown_contact_and_conversation(db, church):
    payload = telnyx_payload("+17735550142", text="Hi, who is this?")
    handle_received(payload, None)
    db.session.commit()

    member = db.session.scalar(select(Member).where(Member.church_id == church.id, Member.phone_e164 == "+17735550142"))
    assert member.is_unknown and member.first_name == "" and member.last_name == ""
    conv = conversation_of(db, church, "+17735550142")
    assert conv.status == "open" and conv.unread_count == 1
    assert conv.last_message_preview == "Hi, who is this?"
    assert conv.last_inbound_at is not None and conv.last_message_at is not None
    [msg] = messages_of(db, conv)
    assert (msg.direction, msg.status, msg.body, msg.provider_message_id) == (
        "in",
        "received",
        "Hi, who is this?",
        payload["id"],
    )


def test_known_member_second_message_appends_and_counts_unread(db, church):
    member = db.session.scalar(
        select(Member).where(Member.church_id == church.id, Member.opted_out_at.is_(None)).order_by(Member.id.desc())
    )
    handle_received(telnyx_payload(member.phone_e164, text="one"), None)
    handle_received(telnyx_payload(member.phone_e164, text="two"), None)
    db.session.commit()
    conv = conversation_of(db, church, member.phone_e164)
    assert [m.body for m in messages_of(db, conv)][-2:] == ["one", "two"]
    assert conv.unread_count >= 2
    assert not member.is_unknown


def test_media_message_keeps_media_list_and_previews_photo(db, church):
    media = [{"url": "https://media.example.net/a.jpg", "content_type": "image/jpeg", "size": 2048, "sha256": None}]
    handle_received(telnyx_payload("+17735550143", text=None, media=media), None)
    db.session.commit()
    conv = conversation_of(db, church, "+17735550143")
    [msg] = messages_of(db, conv)
    assert msg.body == ""
    assert msg.media == [{"url": "https://media.example.net/a.jpg", "content_type": "image/jpeg", "size": 2048}]
    assert "Photo" in conv.last_message_preview


def test_same_event_twice_stores_one_message(db, church):
    payload = telnyx_payload("+17735550144", text="Twice?")
    handle_received(payload, None)
    db.session.commit()
    assert handle_received(dict(payload), None) is None
    db.session.commit()
    count = db.session.scalar(
        select(func.count())
        .select_from(ConversationMessage)
        .where(ConversationMessage.provider_message_id == payload["id"])
    )
    assert count == 1
    assert conversation_of(db, church, "+17735550144").unread_count == 1


def test_number_no_church_owns_is_ignored(db, church):
    assert handle_received(telnyx_payload("+17735550145", to="+19995550000"), None) is None
    assert conversation_of(db, church, "+17735550145") is None


def test_routes_to_the_church_owning_the_number(db, church, other_church):
    handle_received(telnyx_payload("+17735550146", to="+13125550200", text="Hope?"), None)
    db.session.commit()
    assert conversation_of(db, church, "+17735550146") is None
    assert conversation_of(db, other_church, "+17735550146").church_id == other_church.id


def test_inbound_bumps_stats_and_live_version_after_commit(db, church):
    before = cache.version(("conversation", church.id))
    handle_received(telnyx_payload("+17735550147"), None)
    assert cache.version(("conversation", church.id)) == before  # not before the commit
    db.session.commit()
    assert cache.version(("conversation", church.id)) == before + 1
    inbound = db.session.scalar(select(func.sum(DailyStat.inbound)).where(DailyStat.church_id == church.id))
    assert inbound >= 1


def test_rolled_back_inbound_publishes_nothing(db, church):
    before = cache.version(("conversation", church.id))
    nested = db.session.begin_nested()
    handle_received(telnyx_payload("+17735550148"), None)
    nested.rollback()
    db.session.rollback()
    assert cache.version(("conversation", church.id)) == before


def _broadcast_to(db, church, member, group, *, hours_ago: float, body: str = "Youth night Friday 7pm!"):
    sent = datetime.now(UTC) - timedelta(hours=hours_ago)
    broadcast = Broadcast(
        church_id=church.id, body=body, status="sent", audience={"group_ids": [group.id]}, started_at=sent
    )
    db.session.add(broadcast)
    db.session.flush()
    db.session.add(
        BroadcastRecipient(
            church_id=church.id,
            broadcast_id=broadcast.id,
            member_id=member.id,
            to_e164=member.phone_e164,
            status="delivered",
            sent_at=sent,
        )
    )
    db.session.flush()
    return broadcast


def _youth_member(db, church):
    youth = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Youth"))
    member = db.session.scalar(
        select(Member)
        .join(GroupMember, GroupMember.member_id == Member.id)
        .where(GroupMember.group_id == youth.id, Member.opted_out_at.is_(None))
        .order_by(Member.id.desc())
    )
    return youth, member


def test_reply_to_recent_broadcast_is_linked_and_assigned_to_group_leader(db, church):
    youth, member = _youth_member(db, church)
    broadcast = _broadcast_to(db, church, member, youth, hours_ago=3)
    handle_received(telnyx_payload(member.phone_e164, text="Count me in"), None)
    db.session.commit()
    conv = conversation_of(db, church, member.phone_e164)
    msg = messages_of(db, conv)[-1]
    assert msg.broadcast_id == broadcast.id
    leader = db.session.scalar(select(User).where(User.email == "leader@example.org"))
    assert conv.assignee_id == leader.id


@pytest.mark.usefixtures("no_demo_history")
def test_reply_after_72_hours_is_not_linked(db, church):
    youth, member = _youth_member(db, church)
    _broadcast_to(db, church, member, youth, hours_ago=80)
    handle_received(telnyx_payload(member.phone_e164, text="Late reply"), None)
    db.session.commit()
    conv = conversation_of(db, church, member.phone_e164)
    assert messages_of(db, conv)[-1].broadcast_id is None


def test_broadcast_group_without_leader_leaves_conversation_unassigned(db, church):
    worship = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Worship Team"))
    member = db.session.scalar(
        select(Member).join(GroupMember, GroupMember.member_id == Member.id).where(GroupMember.group_id == worship.id)
    )
    db.session.execute(
        GroupMember.__table__.delete().where(GroupMember.member_id == member.id, GroupMember.group_id != worship.id)
    )
    broadcast = _broadcast_to(db, church, member, worship, hours_ago=1)
    handle_received(telnyx_payload(member.phone_e164, text="Yes"), None)
    db.session.commit()
    conv = conversation_of(db, church, member.phone_e164)
    assert messages_of(db, conv)[-1].broadcast_id == broadcast.id
    assert conv.assignee_id is None


def test_inbound_reopens_a_closed_conversation(db, church):
    handle_received(telnyx_payload("+17735550149", text="first"), None)
    db.session.commit()
    conv = conversation_of(db, church, "+17735550149")
    conv.status = "closed"
    db.session.commit()
    handle_received(telnyx_payload("+17735550149", text="again"), None)
    db.session.commit()
    db.session.refresh(conv)
    assert conv.status == "open"


def test_payload_fields_may_be_null(db, church):
    payload = telnyx_payload(GRACE_NUMBER.replace("0100", "0199"), text=None)
    payload.update(received_at=None, media=None, to=[{"phone_number": GRACE_NUMBER, "status": None}])
    assert handle_received(payload, None) is not None
