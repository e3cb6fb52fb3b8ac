"""Inbox actions: reply (high queue, statuses), opted-out refusal, notes, assignment, status, live poll."""

from __future__ import annotations

from sqlalchemy import select

from app import cache
from app.delivery import statuses
from app.extensions import rds
from app.inbox.inbound import handle_received
from app.models import ConversationNote, Member, Template, User
from tests.integration.inbox.conftest import conversation_of, high_jobs, messages_of, run_high_queue, telnyx_payload

HX = {"HX-Request": "true"}


def _inbound(db, church, phone="+17735550180", text="Can someone call me?"):
    handle_received(telnyx_payload(phone, text=text), None)
    db.session.commit()
    return conversation_of(db, church, phone)


def test_reply_shows_as_sending_and_is_queued_on_high(client, db, church, login_as):
    owner = login_as("owner")
    conv = _inbound(db, church)
    response = client.post(f"/inbox/{conv.id}/reply", data={"body": "Calling you now"}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    reply = messages_of(db, conv)[-1]
    assert (reply.direction, reply.status, reply.author_id, reply.body) == (
        "out",
        "sending",
        owner.id,
        "Calling you now",
    )
    assert f'id="msg-{reply.id}"' in html and "Sending" in html and 'hx-swap-oob="beforeend:#messages"' in html
    [job] = high_jobs()
    assert job.func_name == "app.inbox.tasks.send_message" and job.args == (reply.id,)
    db.session.refresh(conv)
    assert conv.first_response_at is not None and conv.last_message_preview == "Calling you now"


def test_reply_goes_out_and_status_webhooks_update_it(client, db, church, login_as, simulator):
    login_as("owner")
    conv = _inbound(db, church)
    client.post(f"/inbox/{conv.id}/reply", data={"body": "On my way"}, headers=HX)
    run_high_queue()
    reply = messages_of(db, conv)[-1]
    db.session.refresh(reply)
    [sent] = simulator.messages(to="+17735550180")
    assert sent["id"] == reply.provider_message_id and sent["text"] == "On my way"
    for event_type, status in (("message.sent", "sent"), ("message.finalized", "delivered")):
        payload = {"id": reply.provider_message_id, "to": [{"phone_number": "+17735550180", "status": status}]}
        statuses.apply_statuses([statuses.status_update_from_event(event_type, payload)])
        db.session.commit()
        db.session.refresh(reply)
        assert reply.status == status
    # The poll re-renders the thread's outbound statuses out of band.
    html = client.get(f"/inbox/poll?v=0&conversation_id={conv.id}&after={reply.id}", headers=HX).get_data(as_text=True)
    assert f'id="msg-{reply.id}"' in html and "Delivered" in html


def test_first_response_is_kept_from_the_first_reply(client, db, church, login_as):
    login_as("owner")
    conv = _inbound(db, church)
    client.post(f"/inbox/{conv.id}/reply", data={"body": "one"}, headers=HX)
    db.session.refresh(conv)
    first = conv.first_response_at
    client.post(f"/inbox/{conv.id}/reply", data={"body": "two"}, headers=HX)
    db.session.refresh(conv)
    assert conv.first_response_at == first


def test_opted_out_member_cannot_be_replied_to(client, db, church, login_as):
    login_as("owner")
    conv = _inbound(db, church, text="STOP")
    rds.client.delete("rq:queue:high")
    page = client.get(f"/inbox/{conv.id}", headers=HX).get_data(as_text=True)
    assert "opted out" in page and 'data-blocked="1"' in page
    assert (
        '<textarea id="reply-body" name="body"' in page and "disabled" in page.split('id="reply-body"')[1].split(">")[0]
    )
    before = len(messages_of(db, conv))
    response = client.post(f"/inbox/{conv.id}/reply", data={"body": "Please come back"}, headers=HX)
    assert response.status_code == 422 and "opted out" in response.get_data(as_text=True)
    assert len(messages_of(db, conv)) == before and high_jobs() == []
    assert client.post(f"/inbox/{conv.id}/reply", data={"body": "x"}).status_code == 403


def test_empty_reply_is_refused_with_422(client, db, church, login_as):
    login_as("owner")
    conv = _inbound(db, church)
    response = client.post(f"/inbox/{conv.id}/reply", data={"body": "   "}, headers=HX)
    assert response.status_code == 422 and "Write a message first." in response.get_data(as_text=True)


def test_notes_are_internal_and_inline(client, db, church, login_as, simulator):
    login_as("owner")
    conv = _inbound(db, church)
    rds.client.delete("rq:queue:high")
    response = client.post(f"/inbox/{conv.id}/notes", data={"body": "Pastor will call Tuesday"}, headers=HX)
    assert response.status_code == 200 and 'class="msg note"' in response.get_data(as_text=True)
    note = db.session.scalar(select(ConversationNote).where(ConversationNote.conversation_id == conv.id))
    assert note.body == "Pastor will call Tuesday"
    assert high_jobs() == [] and simulator.messages() == []
    html = client.get(f"/inbox/{conv.id}", headers=HX).get_data(as_text=True)
    assert 'class="msg note"' in html and "Pastor will call Tuesday" in html
    assert client.post(f"/inbox/{conv.id}/notes/{note.id}/delete", headers=HX).status_code == 200
    assert db.session.get(ConversationNote, note.id) is None


def test_assignment_to_a_leader_and_unassign(client, db, church, login_as):
    login_as("owner")
    conv = _inbound(db, church)
    leader = db.session.scalar(select(User).where(User.email == "leader@example.org"))
    response = client.post(f"/inbox/{conv.id}/assign", data={"assignee_id": str(leader.id)}, headers=HX)
    assert response.status_code == 200 and f'id="conv-{conv.id}"' in response.get_data(as_text=True)
    db.session.refresh(conv)
    assert conv.assignee_id == leader.id
    client.post(f"/inbox/{conv.id}/assign", data={"assignee_id": ""}, headers=HX)
    db.session.refresh(conv)
    assert conv.assignee_id is None


def test_cannot_assign_to_another_churchs_user(client, db, church, login_as):
    login_as("owner")
    conv = _inbound(db, church)
    hope = db.session.scalar(select(User).where(User.email == "admin@hope.example.org"))
    response = client.post(f"/inbox/{conv.id}/assign", data={"assignee_id": str(hope.id)}, headers=HX)
    assert response.status_code == 422
    db.session.refresh(conv)
    assert conv.assignee_id is None


def test_close_reopen_archive_and_mark_unread(client, db, church, login_as):
    login_as("owner")
    conv = _inbound(db, church)
    client.get(f"/inbox/{conv.id}", headers=HX)
    for status in ("closed", "open", "archived"):
        assert client.post(f"/inbox/{conv.id}/status", data={"status": status}, headers=HX).status_code == 200
        db.session.refresh(conv)
        assert conv.status == status
    assert client.post(f"/inbox/{conv.id}/status", data={"status": "deleted"}, headers=HX).status_code == 422
    db.session.refresh(conv)
    assert conv.unread_count == 0
    client.post(f"/inbox/{conv.id}/unread", headers=HX)
    db.session.refresh(conv)
    assert conv.unread_count == 1


def test_canned_reply_fills_merge_fields(client, db, church, login_as):
    login_as("owner")
    conv = _inbound(db, church)
    member = db.session.get(Member, conv.member_id)
    member.first_name = "Tola"
    template = Template(church_id=church.id, name="Thanks", body="Thanks {first_name|friend}, see you Sunday!")
    db.session.add(template)
    db.session.commit()
    html = client.get(f"/inbox/{conv.id}/reply-box?template_id={template.id}", headers=HX).get_data(as_text=True)
    assert "Thanks Tola, see you Sunday!" in html and "Thanks" in html


def test_canned_reply_fills_the_church_name(client, db, church, login_as):
    login_as("owner")
    conv = _inbound(db, church)
    template = Template(church_id=church.id, name="Visit", body="Welcome to {church_name}!")
    db.session.add(template)
    db.session.commit()
    html = client.get(f"/inbox/{conv.id}/reply-box?template_id={template.id}", headers=HX).get_data(as_text=True)
    assert f"Welcome to {church.name}!" in html and "{church_name}" not in html


def test_segment_counter(client, db, login_as):
    login_as("owner")
    html = client.post("/inbox/segments", data={"body": "é" * 10 + "😀"}, headers=HX).get_data(as_text=True)
    assert "UCS-2" in html and "1 segment" in html
    html = client.post("/inbox/segments", data={"body": "a" * 161}, headers=HX).get_data(as_text=True)
    assert "GSM-7" in html and "2 segments" in html


def test_poll_answers_204_until_something_changes(client, db, church, login_as):
    login_as("owner")
    version = cache.version(("conversation", church.id))
    assert client.get(f"/inbox/poll?v={version}", headers=HX).status_code == 204
    conv = _inbound(db, church, text="New while watching")
    response = client.get(f"/inbox/poll?v={version}", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f"v={version + 1}" in html and 'id="inbox-poll"' in html
    assert 'id="conv-rows" hx-swap-oob="innerHTML"' in html and f'id="conv-{conv.id}"' in html
    assert client.get(f"/inbox/poll?v={version + 1}", headers=HX).status_code == 204


def test_poll_appends_new_messages_to_the_open_thread(client, db, church, login_as):
    login_as("owner")
    conv = _inbound(db, church, text="first")
    first = messages_of(db, conv)[-1]
    version = cache.version(("conversation", church.id))
    _inbound(db, church, text="second")
    html = client.get(
        f"/inbox/poll?v={version}&conversation_id={conv.id}&after={first.id}&note_after=0&blocked=0", headers=HX
    ).get_data(as_text=True)
    assert 'hx-swap-oob="beforeend:#messages"' in html and "second" in html
    assert html.count("msg-body") == 1  # only the new one
    assert 'id="thread-header"' in html  # the conversation changed


def test_poll_does_not_leak_other_churches_threads(client, db, church, login_as):
    conv = _inbound(db, church, text="grace only")
    login_as("hope")
    html = client.get(f"/inbox/poll?v=-5&conversation_id={conv.id}&after=0", headers=HX).get_data(as_text=True)
    assert "grace only" not in html


def test_an_assignee_id_of_thousands_of_digits_is_refused_not_a_crash(client, db, church, login_as):
    login_as("owner")
    conv = _inbound(db, church)
    response = client.post(f"/inbox/{conv.id}/assign", data={"assignee_id": "9" * 5000}, headers=HX)
    assert response.status_code < 500
    db.session.refresh(conv)
    assert conv.assignee_id is None
