"""The thread page's cached pane: shared per conversation version, renewed by any change to that thread."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.engine import Engine

from app import cache
from app.delivery import engine, statuses
from app.inbox.inbound import handle_received
from app.inbox.panes import csrf_hole
from app.models import Template, User
from tests.integration.inbox.conftest import conversation_of, messages_of, run_high_queue, telnyx_payload

HX = {"HX-Request": "true"}


def _inbound(db, church, phone, text):
    handle_received(telnyx_payload(phone, text=text), None)
    db.session.commit()
    return conversation_of(db, church, phone)


@contextmanager
def _statements():
    """The SQL statements run inside the block."""
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def test_admin_gets_the_cached_thread_with_this_sessions_csrf_token(app, client, db, church, login_as):
    login_as("owner")
    conv = _inbound(db, church, "+17735550190", "Is there parking?")
    first = client.get(f"/inbox/{conv.id}").get_data(as_text=True)
    with _statements() as statements:
        second = client.get(f"/inbox/{conv.id}")
    html = second.get_data(as_text=True)
    assert second.status_code == 200 and "Is there parking?" in html and 'id="reply-box"' in html
    assert not any("conversation" in s for s in statements)  # list and thread both from cache
    assert csrf_hole() not in html and csrf_hole() not in first
    tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', html))
    assert len(tokens) == 1  # every form of the page carries the one token of this request
    # And that token is accepted: the cached page's forms work.
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(f"/inbox/{conv.id}/notes", data={"body": "Called back", "csrf_token": tokens.pop()})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 302


def test_a_change_to_the_thread_renews_it_and_one_elsewhere_does_not(client, db, church, login_as):
    login_as("owner")
    conv = _inbound(db, church, "+17735550191", "First question")
    client.get(f"/inbox/{conv.id}")
    _inbound(db, church, "+17735550192", "Someone else writes")
    with _statements() as statements:
        html = client.get(f"/inbox/{conv.id}").get_data(as_text=True)
    # The list moved (a new conversation), the thread did not: only the list was rendered again.
    assert "Someone else writes" in html and "First question" in html
    assert not any("conversation_messages" in s for s in statements)
    _inbound(db, church, "+17735550191", "Second question")
    html = client.get(f"/inbox/{conv.id}").get_data(as_text=True)
    assert "Second question" in html


def test_status_webhooks_renew_the_cached_thread(client, db, church, login_as, simulator):
    login_as("owner")
    conv = _inbound(db, church, "+17735550193", "Need a ride Sunday")
    client.post(f"/inbox/{conv.id}/reply", data={"body": "We can pick you up"}, headers=HX)
    run_high_queue()
    reply = messages_of(db, conv)[-1]
    db.session.refresh(reply)
    assert 'data-status="sent"' not in client.get(f"/inbox/{conv.id}").get_data(as_text=True)
    for event_type, status in (("message.sent", "sent"), ("message.finalized", "delivered")):
        payload = {"id": reply.provider_message_id, "to": [{"phone_number": "+17735550193", "status": status}]}
        statuses.apply_statuses([statuses.status_update_from_event(event_type, payload)])
        db.session.commit()
        html = client.get(f"/inbox/{conv.id}").get_data(as_text=True)
        assert f'id="msg-{reply.id}" data-message-id="{reply.id}" data-status="{status}"' in html


def test_a_cached_thread_is_checked_for_leaders_and_other_churches(client, db, church, login_as):
    login_as("owner")
    conv = _inbound(db, church, "+17735550194", "Private prayer request")
    assert client.get(f"/inbox/{conv.id}").status_code == 200  # now cached
    login_as("leader")  # not a leader of any group this unknown contact is in
    assert client.get(f"/inbox/{conv.id}").status_code == 404
    login_as("hope")
    response = client.get(f"/inbox/{conv.id}")
    assert response.status_code == 404 and "Private prayer request" not in response.get_data(as_text=True)


def test_edits_in_people_and_provider_opt_outs_renew_the_thread(client, db, church, login_as):
    login_as("owner")
    conv = _inbound(db, church, "+17735550195", "Who is this?")
    client.get(f"/inbox/{conv.id}")  # cached with the unknown contact's number as its name
    edit = {"first_name": "Abigail", "last_name": "Mensah", "phone": "+17735550195", "language": "en", "branch_id": "0"}
    assert client.post(f"/members/{conv.member_id}/edit", data=edit).status_code == 302
    html = client.get(f"/inbox/{conv.id}").get_data(as_text=True)
    assert "<h2>Abigail Mensah</h2>" in html and "Replies are off" not in html
    engine.record_provider_opt_outs([conv.member_id], "+13125550100")
    db.session.commit()
    assert "Replies are off for this member" in client.get(f"/inbox/{conv.id}").get_data(as_text=True)


def test_a_deleted_members_thread_is_gone_at_once(client, db, church, login_as):
    login_as("owner")
    single = _inbound(db, church, "+17735550196", "Please remove me")
    bulk = _inbound(db, church, "+17735550197", "Me too")
    (single_id, single_member), (bulk_id, bulk_member) = ((c.id, c.member_id) for c in (single, bulk))
    for conv_id in (single_id, bulk_id):
        assert client.get(f"/inbox/{conv_id}").status_code == 200  # cached
    assert client.post(f"/members/{single_member}/delete").status_code == 302
    data = {"action": "delete", "ids": [str(bulk_member)], "confirm": "yes"}
    assert client.post("/members/bulk", data=data).status_code == 302
    for conv_id in (single_id, bulk_id):
        assert client.get(f"/inbox/{conv_id}").status_code == 404


def test_new_canned_replies_and_staff_show_in_cached_threads(client, db, church, login_as):
    login_as("owner")
    conv = _inbound(db, church, "+17735550198", "Hi")
    client.get(f"/inbox/{conv.id}")  # pane and the church's menus cached
    db.session.add(Template(church_id=church.id, name="Office hours", body="We are in Tue-Fri 9-5."))
    db.session.add(
        User(church_id=church.id, email="pastor.kim@example.org", name="Pastor Kim", role="admin", password_hash="x")
    )
    db.session.commit()
    html = client.get(f"/inbox/{conv.id}").get_data(as_text=True)
    assert ">Office hours</option>" in html and ">Pastor Kim</option>" in html


def test_signing_in_leaves_cached_threads_alone(client, db, church, login_as):
    owner = login_as("owner")
    before = cache.version(("staff", church.id))
    owner.last_login_at = datetime.now(UTC)
    db.session.commit()
    assert cache.version(("staff", church.id)) == before
    owner.name = "Grace Admin"
    db.session.commit()
    assert cache.version(("staff", church.id)) == before + 1
