"""Texting a member first: "New text" in the inbox and "Text" on the member page, through the reply's path."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Conversation, GroupLeader, GroupMember, Member, User
from tests.factories import MemberFactory
from tests.integration.inbox.conftest import messages_of, run_high_queue


def _member(db, church, **kw) -> Member:
    member = MemberFactory(church_id=church.id, first_name="Naomi", last_name="Quill", phone_e164="+17735550321", **kw)
    db.session.flush()
    return member


def test_search_pick_and_send_opens_the_conversation_and_texts(client, db, church, login_as, simulator):
    owner = login_as("owner")
    member = _member(db, church)
    assert 'id="new-text"' in client.get("/inbox").get_data(as_text=True)
    found = client.get("/inbox/new?q=Naomi Qu").get_data(as_text=True)
    assert f"/inbox/new?member_id={member.id}" in found
    page = client.get(f"/inbox/new?member_id={member.id}").get_data(as_text=True)
    assert "Naomi" in page and 'name="body"' in page
    response = client.post("/inbox/new", data={"member_id": member.id, "body": "Hi Naomi, welcome!"})
    conv = db.session.scalar(select(Conversation).where(Conversation.member_id == member.id))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/inbox/{conv.id}")
    [message] = messages_of(db, conv)
    assert (message.direction, message.status, message.author_id) == ("out", "sending", owner.id)
    run_high_queue()
    [sent] = simulator.messages(to="+17735550321")
    assert sent["text"] == "Hi Naomi, welcome!"
    # A second text goes to the same conversation.
    client.post("/inbox/new", data={"member_id": member.id, "body": "See you Sunday"})
    assert len(messages_of(db, conv)) == 2


def test_the_member_page_offers_it(client, db, church, login_as):
    login_as("owner")
    member = _member(db, church)
    page = client.get(f"/members/{member.id}").get_data(as_text=True)
    assert f"/inbox/new?member_id={member.id}" in page


def test_opted_out_members_are_not_offered_and_refused(client, db, church, login_as):
    from datetime import UTC, datetime

    login_as("owner")
    member = _member(db, church, opted_out_at=datetime.now(UTC))
    assert f"member_id={member.id}" not in client.get("/inbox/new?q=Naomi").get_data(as_text=True)
    response = client.post("/inbox/new", data={"member_id": member.id, "body": "Hello?"})
    assert response.status_code == 422 and "opted out" in response.get_data(as_text=True)
    assert db.session.scalar(select(Conversation).where(Conversation.member_id == member.id)) is None


def test_an_empty_message_or_no_member_is_a_422_that_keeps_the_form(client, db, church, login_as):
    login_as("owner")
    member = _member(db, church)
    empty = client.post("/inbox/new", data={"member_id": member.id, "body": ""})
    assert empty.status_code == 422 and "Write a message first." in empty.get_data(as_text=True)
    nobody = client.post("/inbox/new", data={"body": "Hi"})
    assert nobody.status_code == 422 and "Choose who to text." in nobody.get_data(as_text=True)


def test_another_church_or_a_leaders_non_member_is_not_found(client, db, church, other_church, login_as):
    member = _member(db, church)
    login_as("hope")
    assert client.get(f"/inbox/new?member_id={member.id}").status_code == 404
    assert client.post("/inbox/new", data={"member_id": member.id, "body": "Hi"}).status_code == 404
    assert f"member_id={member.id}" not in client.get("/inbox/new?q=Naomi").get_data(as_text=True)
    login_as("leader")
    assert client.get(f"/inbox/new?member_id={member.id}").status_code == 404
    leader = db.session.scalar(select(User).where(User.email == "leader@example.org"))
    group_id = db.session.scalar(select(GroupLeader.group_id).where(GroupLeader.user_id == leader.id))
    db.session.add(GroupMember(church_id=church.id, group_id=group_id, member_id=member.id))
    db.session.flush()
    assert client.get(f"/inbox/new?member_id={member.id}").status_code == 200
