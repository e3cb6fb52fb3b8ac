"""/api/v1/conversations: threads, messages newest first, and replies through the inbox's own path."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from app.extensions import rds
from app.inbox.inbound import handle_received
from app.inbox.tasks import send_message
from app.models import ConversationMessage, Member
from tests.integration.inbox.conftest import (
    conversation_of,
    messages_of,
    run_high_queue,
    simulator,  # noqa: F401
    telnyx_payload,
)

PHONE = "+17735550190"


def _inbound(db, church, text="Can someone call me?", phone=PHONE):
    handle_received(telnyx_payload(phone, text=text), None)
    db.session.commit()
    return conversation_of(db, church, phone)


def test_list_filters_and_shows_the_member(api, db, church):
    conv = _inbound(db, church)
    listed = api.get("/api/v1/conversations?status=open&unread=true&assigned=false&limit=100").get_json()
    found = [c for c in listed["data"] if c["id"] == conv.id]
    assert found, "the new conversation is listed"
    assert found[0]["member"]["phone"] == PHONE and found[0]["unread_count"] == 1
    assert found[0]["last_message_preview"] == "Can someone call me?"
    assert listed["data"][0]["id"] == max(c["id"] for c in listed["data"])  # newest first
    closed = api.get("/api/v1/conversations?status=closed&limit=100").get_json()["data"]
    assert conv.id not in [c["id"] for c in closed]
    assert api.get(f"/api/v1/conversations/{conv.id}").get_json()["data"]["id"] == conv.id
    assert api.get("/api/v1/conversations?status=lost").status_code == 422


def test_messages_page_newest_first(api, db, church):
    conv = _inbound(db, church, "one")
    for text in ("two", "three"):
        _inbound(db, church, text)
    first = api.get(f"/api/v1/conversations/{conv.id}/messages?limit=2").get_json()
    assert [m["body"] for m in first["data"]] == ["three", "two"]
    assert all(m["direction"] == "in" and m["sent_by"] == "member" for m in first["data"])
    rest = api.get(f"/api/v1/conversations/{conv.id}/messages?limit=2&cursor={first['next_cursor']}").get_json()
    assert [m["body"] for m in rest["data"]] == ["one"] and rest["next_cursor"] is None


def test_a_reply_goes_out_through_the_inbox_queue(api, db, church, simulator):  # noqa: F811
    conv = _inbound(db, church)
    response = api.post(f"/api/v1/conversations/{conv.id}/messages", json={"body": "Calling you now"})
    assert response.status_code == 201
    data = response.get_json()["data"]
    assert (data["direction"], data["status"], data["sent_by"], data["body"]) == (
        "out",
        "sending",
        "api",
        "Calling you now",
    )
    db.session.refresh(conv)
    assert conv.last_message_preview == "Calling you now" and conv.first_response_at is not None
    run_high_queue()
    reply = db.session.get(ConversationMessage, data["id"])
    db.session.refresh(reply)
    assert reply.provider_message_id is not None and reply.api_key_id is not None and reply.author_id is None
    assert [m["text"] for m in simulator.messages(PHONE)] == ["Calling you now"]
    newest = api.get(f"/api/v1/conversations/{conv.id}/messages?limit=1").get_json()["data"][0]
    assert newest["id"] == data["id"]


def test_an_opted_out_member_is_not_replied_to(api, db, church):
    conv = _inbound(db, church)
    _inbound(db, church, "STOP")
    before = len(messages_of(db, conv))
    response = api.post(f"/api/v1/conversations/{conv.id}/messages", json={"body": "Are you sure?"})
    assert response.status_code == 409
    assert "opted out" in response.get_json()["error"]["message"]
    assert len(messages_of(db, conv)) == before


def test_a_reply_queued_before_an_opt_out_is_not_sent(api, db, church, simulator):  # noqa: F811
    conv = _inbound(db, church)
    data = api.post(f"/api/v1/conversations/{conv.id}/messages", json={"body": "Hello again"}).get_json()["data"]
    rds.queue("high").empty()
    member = db.session.get(Member, conv.member_id)
    member.opted_out_at = datetime.now(UTC)
    db.session.commit()
    assert send_message(data["id"]) == "failed"
    assert simulator.messages(PHONE) == []


def test_over_the_allowance_and_field_errors(api, db, church):
    conv = _inbound(db, church)
    assert api.post(f"/api/v1/conversations/{conv.id}/messages", json={"body": "   "}).status_code == 422
    long = api.post(f"/api/v1/conversations/{conv.id}/messages", json={"body": "x" * 1601})
    assert long.status_code == 422 and "body" in long.get_json()["error"]["details"]
    church.sms_quota = 0
    db.session.flush()
    refused = api.post(f"/api/v1/conversations/{conv.id}/messages", json={"body": "Hi"})
    assert refused.status_code == 422 and "allowance" in refused.get_json()["error"]["details"]


def test_scopes_idempotency_and_other_churches(api_as, db, church):
    conv = _inbound(db, church)
    reader = api_as(scopes=["read"])
    assert reader.post(f"/api/v1/conversations/{conv.id}/messages", json={"body": "Hi"}).status_code == 403
    sender = api_as(scopes=["messages:send"])
    assert sender.get("/api/v1/conversations").status_code == 403
    headers = {"Idempotency-Key": "reply-1"}
    first = sender.post(f"/api/v1/conversations/{conv.id}/messages", json={"body": "Hi"}, headers=headers)
    again = sender.post(f"/api/v1/conversations/{conv.id}/messages", json={"body": "Hi"}, headers=headers)
    assert first.status_code == again.status_code == 201 and again.get_json() == first.get_json()
    replies = (
        select(func.count())
        .select_from(ConversationMessage)
        .where(ConversationMessage.conversation_id == conv.id, ConversationMessage.direction == "out")
    )
    assert db.session.scalar(replies) == 1
    hope = api_as(church="hope")
    assert hope.get(f"/api/v1/conversations/{conv.id}").status_code == 404
    assert hope.get(f"/api/v1/conversations/{conv.id}/messages").status_code == 404
    assert hope.post(f"/api/v1/conversations/{conv.id}/messages", json={"body": "Hi"}).status_code == 404
    assert conv.id not in [c["id"] for c in hope.get("/api/v1/conversations?limit=100").get_json()["data"]]
