"""What an inbox search may cost: short terms match people only, and LIKE's wildcards are text."""

from __future__ import annotations

from sqlalchemy import event

from app import cache
from app.inbox.inbound import handle_received
from app.models import Member
from tests.integration.inbox.conftest import conversation_of, telnyx_payload

HX = {"HX-Request": "true"}


def _rows(client, q: str) -> str:
    return client.get("/inbox/rows", query_string={"q": q}, headers=HX).get_data(as_text=True)


def test_one_or_two_letters_match_names_and_numbers_but_not_message_text(client, db, church, login_as):
    login_as("owner")
    db.session.add(Member(church_id=church.id, first_name="Obadiah", last_name="Wexley", phone_e164="+17735550181"))
    handle_received(telnyx_payload("+17735550181", text="zq fellowship night?"), None)
    db.session.commit()
    conv = conversation_of(db, church, "+17735550181")
    row = f'id="conv-{conv.id}"'
    assert row not in _rows(client, "zq")  # only in the text: too short to read every message for
    assert row in _rows(client, "Ob") and row in _rows(client, "W")  # names match from one letter
    assert row in _rows(client, "zq f") and row in _rows(client, "fellow")  # text from three characters
    assert row in _rows(client, "0181")


def test_inbox_search_wildcards_match_only_themselves(client, db, church, login_as):
    login_as("owner")
    handle_received(telnyx_payload("+17735550182", text="100% sure"), None)
    handle_received(telnyx_payload("+17735550183", text="nothing special"), None)
    db.session.commit()
    literal = conversation_of(db, church, "+17735550182")
    other = conversation_of(db, church, "+17735550183")
    html = _rows(client, "0% s")
    assert f'id="conv-{literal.id}"' in html and f'id="conv-{other.id}"' not in html
    assert f'id="conv-{other.id}"' not in _rows(client, "___")


def test_poll_of_a_searched_list_rereads_only_the_rows_that_moved(client, db, church, login_as):
    login_as("owner")
    match = _inbound(db, church, "+17735550184", "harvest supper on Friday")
    version = cache.version(("conversation", church.id))
    other = _inbound(db, church, "+17735550185", "see you sunday")
    statements = []
    event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    html = _poll(client, version, "harvest")
    # Only the moved conversation was read, and it no longer matches: it leaves the list.
    assert 'id="conv-rows" hx-swap-oob="innerHTML"' not in html and f'id="conv-{match.id}"' not in html
    assert f'<div id="conv-{other.id}" hx-swap-oob="delete">' in html
    searches = [s for s in statements if "ILIKE" in s.upper() and "conversation_messages" in s]
    assert searches and all("conversation_messages.conversation_id IN" in s for s in searches)
    version = cache.version(("conversation", church.id))
    _inbound(db, church, "+17735550184", "what should I bring?")
    html = _poll(client, version, "harvest")
    assert f'<div id="conv-{match.id}" hx-swap-oob="delete">' in html
    assert 'hx-swap-oob="afterbegin:#conv-rows"' in html and f'<a id="conv-{match.id}"' in html
    # Without a search, a change re-renders the window as before.
    assert 'id="conv-rows" hx-swap-oob="innerHTML"' in _poll(client, version, "")


def _inbound(db, church, phone, text):
    handle_received(telnyx_payload(phone, text=text), None)
    db.session.commit()
    return conversation_of(db, church, phone)


def _poll(client, version, q):
    response = client.get("/inbox/poll", query_string={"v": version, "q": q}, headers=HX)
    assert response.status_code == 200
    return response.get_data(as_text=True)
