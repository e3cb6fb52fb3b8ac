"""The connect card: the public page, what a card does, double opt-in by YES, abuse limits, the QR code."""

from __future__ import annotations

import io
import re

import segno
from sqlalchemy import func, select

from app.inbox.inbound import handle_received
from app.models import ConnectSubmission, ConsentEvent, GroupMember, Member
from tests.integration.connect.conftest import CARD, SLUG, card_data
from tests.integration.inbox.conftest import run_high_queue, telnyx_payload

PHONE = "+13125550177"


def _member(db, church, phone=PHONE) -> Member | None:
    return db.session.scalar(select(Member).where(Member.church_id == church.id, Member.phone_e164 == phone))


def _ledger(db, member) -> list[tuple[str, str]]:
    rows = db.session.scalars(select(ConsentEvent).where(ConsentEvent.member_id == member.id).order_by(ConsentEvent.id))
    return [(r.action, r.source) for r in rows]


def _texts(simulator, phone=PHONE) -> list[str]:
    return [m["text"] for m in simulator.messages(to=phone)]


def _reply(db, text: str, phone=PHONE):
    handle_received(telnyx_payload(phone, text=text))
    db.session.commit()
    run_high_queue()
    db.session.expire_all()


# --- the page ------------------------------------------------------------------------------------


def test_the_card_is_a_plain_form_with_the_carrier_wording(client, card, church):
    response = client.get(CARD)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script" not in html  # works without JavaScript: nothing to run
    assert f'action="{CARD}"' in html and 'method="post"' in html
    assert "How did you hear about us?" in html and "Card Youth" in html and "Card Hidden" not in html
    assert f"receive text messages from {church.name}" in html
    for words in ("Up to 4 msgs/month", "Msg &amp; data rates may apply", "Reply STOP to cancel, HELP for help"):
        assert words in html
    assert 'name="website"' in html  # the honeypot


def test_the_card_may_be_framed_only_by_the_churchs_sites(client, card):
    response = client.get(CARD)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://www.gracechurch.example;" in csp
    assert "X-Frame-Options" not in response.headers
    # Every other page keeps refusing frames.
    other = client.get("/login")
    assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"]
    assert other.headers["X-Frame-Options"] == "DENY"


def test_without_sites_only_koinonia_itself_may_frame_the_card(client, db, card):
    card.allowed_origins = []
    db.session.commit()
    assert "frame-ancestors 'self';" in client.get(CARD).headers["Content-Security-Policy"]


def test_unknown_or_closed_cards_are_not_found(client, db, card):
    assert client.get("/c/no-such-church").status_code == 404
    assert client.get("/c/no-such-church/qr.svg").status_code == 404
    assert client.get("/c/hope-chapel").status_code == 404  # no card set up
    card.enabled = False
    db.session.commit()
    assert client.get(CARD).status_code == 404


def test_errors_stand_by_their_fields_and_what_was_typed_stays(client, card, db, church):
    data = card_data(client, first_name="", phone="555", email="not-an-email", answer_0="Drove by")
    response = client.post(CARD, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="first_name-error">Enter your first name', html)
    assert re.search(r'id="phone-error">[^<]*(digits|not)', html)
    assert 'id="email-error">Enter a valid email address.' in html
    assert 'value="Drove by"' in html and 'value="not-an-email"' in html and 'value="555"' in html
    assert _member(db, church, "+1555") is None


def test_an_overlong_field_is_refused_before_any_work(client, card, db):
    response = client.post(CARD, data=card_data(client, answer_0="x" * 301, phone="3" * 41))
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(ConnectSubmission)) == 0


def test_a_post_without_the_pages_token_is_refused(client, card, db):
    response = client.post(CARD, data=card_data(client, csrf_token="forged"))
    assert response.status_code == 422
    assert "This page has expired" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ConnectSubmission)) == 0


# --- what a card does ------------------------------------------------------------------------------


def test_a_card_adds_the_person_not_opted_in_and_texts_them_for_yes(client, card, db, church, groups, simulator):
    response = client.post(CARD, data=card_data(client, groups=[str(groups[0].id)]))
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/c/{SLUG}/thanks")
    run_high_queue()
    member = _member(db, church)
    assert (member.first_name, member.last_name, member.email) == ("Ruth", "Moab", "ruth@example.org")
    assert member.opted_out_at is not None and member.consent_at is None  # not opted in before YES
    assert _ledger(db, member) == []
    sub = db.session.scalar(select(ConnectSubmission).where(ConnectSubmission.member_id == member.id))
    assert sub.status == "pending" and sub.consent
    assert sub.answers == [{"question": "How did you hear about us?", "answer": "A friend"}]
    joined = db.session.scalars(select(GroupMember.group_id).where(GroupMember.member_id == member.id)).all()
    assert joined == [groups[0].id]
    [text] = _texts(simulator)
    assert f"Reply YES to get texts from {church.name}" in text and "Reply STOP to cancel, HELP for help" in text
    assert "Thank you" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_yes_opts_in_with_a_form_consent_row_and_a_welcome(client, card, db, church, simulator):
    client.post(CARD, data=card_data(client))
    run_high_queue()
    _reply(db, " yes! ")
    member = _member(db, church)
    assert member.opted_out_at is None and member.consent_source == "form"
    assert _ledger(db, member) == [("opt_in", "form")]
    sub = db.session.scalar(select(ConnectSubmission).where(ConnectSubmission.member_id == member.id))
    assert sub.status == "confirmed" and sub.confirmed_at is not None
    texts = _texts(simulator)
    assert len(texts) == 2 and "welcome" in texts[1]
    # A second YES has nothing pending: no second row, no second welcome.
    _reply(db, "Y")
    assert _ledger(db, member) == [("opt_in", "form")] and len(_texts(simulator)) == 2


def test_yes_with_nothing_pending_does_nothing_special(db, church, simulator):
    member = Member(church_id=church.id, first_name="Eli", phone_e164="+13125550178")
    db.session.add(member)
    db.session.commit()
    _reply(db, "YES", phone="+13125550178")
    assert _ledger(db, member) == [] and _texts(simulator, "+13125550178") == []


def test_without_the_box_the_contact_is_kept_and_nothing_is_sent(client, card, db, church, simulator):
    response = client.post(CARD, data=card_data(client, consent=None))
    assert response.status_code == 303
    run_high_queue()
    member = _member(db, church)
    assert member is not None and member.opted_out_at is not None
    assert db.session.scalar(select(ConnectSubmission.status).where(ConnectSubmission.member_id == member.id)) == (
        "no_consent"
    )
    assert _texts(simulator) == []
    _reply(db, "YES")  # nothing was asked: YES does not opt them in
    assert _member(db, church).opted_out_at is not None and _ledger(db, member) == []


def test_a_stopped_number_is_never_texted_and_sees_the_same_page(client, card, db, church, simulator):
    first = client.post(CARD, data=card_data(client))
    run_high_queue()
    _reply(db, "STOP")
    member = _member(db, church)
    assert _ledger(db, member) == [("opt_out", "keyword")]  # STOP while pending is on record
    sent = len(_texts(simulator))
    _reply(db, "YES")  # the pending card was cancelled by STOP
    assert _member(db, church).opted_out_at is not None
    again = client.post(CARD, data=card_data(client, phone="312-555-0177"))
    run_high_queue()
    assert again.status_code == first.status_code and again.headers["Location"] == first.headers["Location"]
    assert len(_texts(simulator)) == sent
    statuses = db.session.scalars(
        select(ConnectSubmission.status).where(ConnectSubmission.member_id == member.id).order_by(ConnectSubmission.id)
    ).all()
    assert statuses == ["stopped", "suppressed"]


def test_an_existing_member_is_found_by_phone_not_duplicated_or_renamed(client, card, db, church, simulator):
    member = Member(church_id=church.id, first_name="Naomi", phone_e164=PHONE, consent_source="import")
    db.session.add(member)
    db.session.commit()
    client.post(CARD, data=card_data(client, phone="+1 312 555 0177", first_name="Someone", last_name="Else"))
    run_high_queue()
    members = db.session.scalars(select(Member).where(Member.church_id == church.id, Member.phone_e164 == PHONE)).all()
    assert len(members) == 1 and members[0].first_name == "Naomi"
    assert members[0].opted_out_at is None  # their consent stays as it was
    assert len(_texts(simulator)) == 1


def test_the_honeypot_keeps_nothing_and_looks_like_success(client, card, db, church, simulator):
    response = client.post(CARD, data=card_data(client, website="http://spam.example"))
    assert response.status_code == 303 and response.headers["Location"].endswith("/thanks")
    run_high_queue()
    assert _member(db, church) is None and _texts(simulator) == []


def test_a_phone_gets_at_most_three_cards_a_day(client, card, db, simulator):
    for _ in range(3):
        assert client.post(CARD, data=card_data(client)).status_code == 303
    response = client.post(CARD, data=card_data(client, phone="312.555.0177"))
    assert response.status_code == 429
    assert "several cards today" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ConnectSubmission)) == 3


def test_an_address_posts_at_most_ten_cards_an_hour(client, card, db):
    data = card_data(client)
    for i in range(10):
        assert client.post(CARD, data={**data, "phone": f"31255501{i:02d}"}).status_code == 303
    assert client.post(CARD, data={**data, "phone": "3125550150"}).status_code == 429
    assert client.get(CARD).status_code == 200  # reading the card is never limited


# --- the QR code ---------------------------------------------------------------------------------


def test_the_qr_code_is_an_svg_of_the_cards_address(app, client, card):
    response = client.get(f"/c/{SLUG}/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    url = app.config["APP_BASE_URL"] + CARD
    # segno draws the same symbol for the same address: regenerate it and compare.
    expected = io.BytesIO()
    segno.make(url, error="m", micro=False).save(
        expected, kind="svg", scale=8, border=4, xmldecl=True, title="Connect card QR code"
    )
    assert response.data == expected.getvalue()
    assert response.data.lstrip().startswith(b"<?xml") and b"<svg" in response.data


def test_staff_cannot_text_someone_before_their_yes(client, card, db, church, simulator):
    import pytest

    from app.errors import PermissionDenied
    from app.inbox.services import reply
    from app.models import Conversation, User

    client.post(CARD, data=card_data(client))
    run_high_queue()
    member = _member(db, church)
    conversation = db.session.scalar(select(Conversation).where(Conversation.member_id == member.id))
    staff = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    with pytest.raises(PermissionDenied, match="once they reply YES"):
        reply(conversation, staff, "Hi Ruth!")
    assert len(_texts(simulator)) == 1  # only the card's own question
