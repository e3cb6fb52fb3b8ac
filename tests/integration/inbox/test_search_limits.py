"""What an inbox search may cost: short terms match people only, and LIKE's wildcards are text."""

from __future__ import annotations

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
