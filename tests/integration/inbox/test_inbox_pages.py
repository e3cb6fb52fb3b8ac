"""The /inbox pages: list filters, search, keyset paging, thread, HTMX fragments vs full pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.inbox.inbound import handle_received
from app.models import Conversation, ConversationMessage, Member, PhoneNumber, User
from tests.integration.inbox.conftest import conversation_of, telnyx_payload

HX = {"HX-Request": "true"}


def _conversations(db, church, count, *, start=0, status="open", **fields):
    """`count` conversations with distinct members, newest last."""
    number = db.session.scalar(select(PhoneNumber).where(PhoneNumber.church_id == church.id))
    base = datetime.now(UTC) - timedelta(days=1)
    convs = []
    for i in range(start, start + count):
        member = Member(
            church_id=church.id, first_name=f"Pager{i:03d}", last_name="Test", phone_e164=f"+1872555{i:04d}"
        )
        db.session.add(member)
        db.session.flush()
        conv = Conversation(
            church_id=church.id,
            member_id=member.id,
            phone_number_id=number.id,
            status=status,
            last_message_at=base + timedelta(minutes=i),
            last_message_preview=f"message {i}",
            **fields,
        )
        db.session.add(conv)
        db.session.flush()
        convs.append(conv)
    return convs


def test_inbox_page_lists_conversations(client, db, church, login_as):
    login_as("owner")
    handle_received(telnyx_payload("+17735550170", text="Hello from a new number"), None)
    db.session.commit()
    response = client.get("/inbox")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    assert "Hello from a new number" in html and "(773) 555-0170" in html
    assert 'id="inbox-poll"' in html and "inbox.js" in html


def test_thread_full_page_and_fragment(client, db, church, login_as):
    login_as("owner")
    handle_received(telnyx_payload("+17735550171", text="Thread text"), None)
    db.session.commit()
    conv = conversation_of(db, church, "+17735550171")
    fragment = client.get(f"/inbox/{conv.id}", headers=HX).get_data(as_text=True)
    assert "<html" not in fragment and "Thread text" in fragment and 'id="reply-box"' in fragment
    # Opening it marked it read, and the fragment carries the updated list row out of band.
    db.session.refresh(conv)
    assert conv.unread_count == 0
    assert f'id="conv-{conv.id}"' in fragment and 'hx-swap-oob="true"' in fragment
    page = client.get(f"/inbox/{conv.id}")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert "Thread text" in page.get_data(as_text=True)
    # Opened again (its pane now cached), the fragment is the same thread.
    again = client.get(f"/inbox/{conv.id}", headers=HX).get_data(as_text=True)
    assert "<html" not in again and "Thread text" in again and 'id="reply-box"' in again


def test_media_thumbnail_in_thread(client, db, church, login_as):
    login_as("owner")
    media = [{"url": "https://media.example.net/p.png", "content_type": "image/png", "size": 10, "sha256": None}]
    handle_received(telnyx_payload("+17735550172", text="Look", media=media), None)
    db.session.commit()
    conv = conversation_of(db, church, "+17735550172")
    html = client.get(f"/inbox/{conv.id}", headers=HX).get_data(as_text=True)
    assert '<img class="thumb" src="https://media.example.net/p.png"' in html


def test_keyset_pagination_walks_every_row_once(client, db, church, login_as):
    login_as("owner")
    _conversations(db, church, 120)
    db.session.commit()
    seen, url = [], "/inbox/rows?q=Pager"
    while url:
        html = client.get(url, headers=HX).get_data(as_text=True)
        seen += [part.split("<")[0] for part in html.split('class="conv-name">')[1:]]
        marker = 'hx-get="/inbox/rows?before='
        url = None
        if marker in html:
            url = "/inbox/rows?before=" + html.split(marker)[1].split('"')[0].replace("&amp;", "&")
    names = [s.split()[0] for s in seen]
    assert len(names) == 120 and len(set(names)) == 120
    assert names[0] == "Pager119" and names[-1] == "Pager000"


def test_filters_status_mine_unassigned_unread(client, db, church, login_as):
    owner = login_as("owner")
    open_ = _conversations(db, church, 2, start=200)
    closed = _conversations(db, church, 1, start=210, status="closed")
    mine = _conversations(db, church, 1, start=220, assignee_id=owner.id, unread_count=2)
    db.session.commit()

    def names(query):
        html = client.get(f"/inbox/rows?q=Pager&{query}", headers=HX).get_data(as_text=True)
        return {p.split()[0] for p in html.split('class="conv-name">')[1:]}

    assert names("status=closed") == {"Pager210"}
    assert names("status=open") == {"Pager200", "Pager201", "Pager220"}
    assert names("who=mine") == {"Pager220"}
    assert names("who=unassigned") == {"Pager200", "Pager201"}
    assert names("unread=1") == {"Pager220"}
    assert open_ and closed and mine


def test_search_by_name_phone_and_message_text(client, db, church, login_as):
    login_as("owner")
    handle_received(telnyx_payload("+17735550173", text="Is the potluck vegetarian-friendly?"), None)
    db.session.commit()
    conv = conversation_of(db, church, "+17735550173")
    member = db.session.get(Member, conv.member_id)
    member.first_name, member.last_name = "Zebulon", "Quartz"
    db.session.commit()
    for q in ("zebulon", "Quartz", "773-555-0173", "(773) 555", "potluck VEGET"):
        html = client.get("/inbox/rows", query_string={"q": q}, headers=HX).get_data(as_text=True)
        assert f'id="conv-{conv.id}"' in html, q
    html = client.get("/inbox/rows", query_string={"q": "nothing-like-this"}, headers=HX).get_data(as_text=True)
    assert f'id="conv-{conv.id}"' not in html and "No matches" in html


def test_rows_without_htmx_redirect_to_the_page(client, db, login_as):
    login_as("owner")
    response = client.get("/inbox/rows?status=closed")
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox?status=closed")


def test_leader_sees_group_members_and_assigned_conversations_only(client, db, church, login_as):
    leader = login_as("leader")
    youth_member = db.session.scalar(
        select(Member).where(Member.church_id == church.id, Member.id % 2 == 0, Member.opted_out_at.is_(None))
    )
    handle_received(telnyx_payload(youth_member.phone_e164, text="youth question"), None)
    handle_received(telnyx_payload("+17735550174", text="stranger"), None)
    handle_received(telnyx_payload("+17735550175", text="assigned to leader"), None)
    db.session.commit()
    visible = conversation_of(db, church, youth_member.phone_e164)
    hidden = conversation_of(db, church, "+17735550174")
    assigned = conversation_of(db, church, "+17735550175")
    assigned.assignee_id = leader.id
    db.session.commit()
    html = client.get("/inbox").get_data(as_text=True)
    assert f'id="conv-{visible.id}"' in html and f'id="conv-{assigned.id}"' in html
    assert f'id="conv-{hidden.id}"' not in html
    assert client.get(f"/inbox/{hidden.id}").status_code == 404
    assert client.post(f"/inbox/{hidden.id}/reply", data={"body": "hi"}, headers=HX).status_code == 404
    assert client.get(f"/inbox/{assigned.id}").status_code == 200


def test_other_church_cannot_open_a_conversation(client, db, church, login_as):
    handle_received(telnyx_payload("+17735550176", text="private"), None)
    db.session.commit()
    conv = conversation_of(db, church, "+17735550176")
    login_as("hope")
    assert client.get(f"/inbox/{conv.id}").status_code == 404
    assert "private" not in client.get("/inbox").get_data(as_text=True)


def test_older_messages_page_backwards(client, db, church, login_as):
    login_as("owner")
    handle_received(telnyx_payload("+17735550177", text="first"), None)
    db.session.commit()
    conv = conversation_of(db, church, "+17735550177")
    start = datetime.now(UTC) - timedelta(hours=2)
    for i in range(60):
        db.session.add(
            ConversationMessage(
                church_id=church.id,
                conversation_id=conv.id,
                direction="in",
                body=f"old {i:02d}",
                status="received",
                created_at=start + timedelta(seconds=i),
            )
        )
    db.session.commit()
    html = client.get(f"/inbox/{conv.id}", headers=HX).get_data(as_text=True)
    assert "old 59" in html and "old 19" not in html and 'id="load-older"' in html
    before = html.split("/older?before=")[1].split('"')[0].replace("&amp;", "&")
    older = client.get(f"/inbox/{conv.id}/older?before={before}", headers=HX).get_data(as_text=True)
    assert "old 19" in older and "old 59" not in older


def test_unknown_contact_link_and_assignee_names(client, db, church, login_as):
    login_as("owner")
    handle_received(telnyx_payload("+17735550178", text="who?"), None)
    db.session.commit()
    conv = conversation_of(db, church, "+17735550178")
    leader = db.session.scalar(select(User).where(User.email == "leader@example.org"))
    conv.assignee_id = leader.id
    db.session.commit()
    html = client.get(f"/inbox/{conv.id}").get_data(as_text=True)
    assert "Unknown contact: add details" in html and "Assigned to Rachel (Youth)" in html
