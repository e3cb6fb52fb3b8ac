"""Keywords in inbound texts: opt-out and opt-in with the consent ledger, HELP, join keywords."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.inbox.inbound import handle_received
from app.inbox.services import queue_outbound
from app.models import ConsentEvent, DailyStat, Group, GroupMember, Keyword, Member, User
from app.stats import rebuild
from tests.integration.inbox.conftest import (
    GRACE_NUMBER,
    conversation_of,
    high_jobs,
    messages_of,
    run_high_queue,
    telnyx_payload,
)

STOP_WORDS = [
    "STOP",
    "stop",
    " Stop ",
    "STOPALL",
    "STOP ALL",
    "stop  all",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "optout",
]


def _member(db, church, phone="+17735550160", **fields):
    member = Member(church_id=church.id, first_name="Ada", last_name="Obi", phone_e164=phone, **fields)
    db.session.add(member)
    db.session.flush()
    return member


def _ledger(db, member):
    return list(
        db.session.scalars(select(ConsentEvent).where(ConsentEvent.member_id == member.id).order_by(ConsentEvent.id))
    )


def _stat(db, church, column):
    return db.session.scalar(
        select(func.coalesce(func.sum(getattr(DailyStat, column)), 0)).where(DailyStat.church_id == church.id)
    )


@pytest.mark.parametrize("word", STOP_WORDS)
def test_stop_keywords_opt_out_with_ledger_row_and_one_confirmation(db, church, word):
    member = _member(db, church)
    before = _stat(db, church, "opt_outs")
    handle_received(telnyx_payload(member.phone_e164, text=word), None)
    db.session.commit()
    db.session.refresh(member)
    assert member.opted_out_at is not None
    [event] = _ledger(db, member)
    assert (event.action, event.source, event.phone_number) == ("opt_out", "keyword", GRACE_NUMBER)
    assert event.keyword == " ".join(word.split()).upper()
    assert _stat(db, church, "opt_outs") == before + 1
    conv = conversation_of(db, church, member.phone_e164)
    inbound, reply = messages_of(db, conv)
    assert inbound.direction == "in" and reply.direction == "out"
    assert reply.status == "sending" and reply.author_id is None and "unsubscribed" in reply.body
    assert [j.args for j in high_jobs()] == [(reply.id,)]


def test_second_stop_writes_nothing_and_sends_no_second_confirmation(db, church):
    member = _member(db, church)
    handle_received(telnyx_payload(member.phone_e164, text="STOP"), None)
    handle_received(telnyx_payload(member.phone_e164, text="STOP"), None)
    db.session.commit()
    assert len(_ledger(db, member)) == 1
    assert [m.direction for m in messages_of(db, conversation_of(db, church, member.phone_e164))] == ["in", "out", "in"]


def test_stop_inside_a_longer_message_is_just_a_message(db, church):
    member = _member(db, church)
    handle_received(telnyx_payload(member.phone_e164, text="Please don't stop the youth texts"), None)
    db.session.commit()
    db.session.refresh(member)
    assert member.opted_out_at is None and _ledger(db, member) == []


@pytest.mark.parametrize("word", ["START", "unstop"])
def test_start_opts_back_in_with_confirmation(db, church, word):
    member = _member(db, church)
    handle_received(telnyx_payload(member.phone_e164, text="STOP"), None)
    db.session.commit()
    before = _stat(db, church, "opt_ins")
    handle_received(telnyx_payload(member.phone_e164, text=word), None)
    db.session.commit()
    db.session.refresh(member)
    assert member.opted_out_at is None and member.consent_source == "keyword"
    assert [(e.action, e.keyword) for e in _ledger(db, member)] == [("opt_out", "STOP"), ("opt_in", word.upper())]
    assert _stat(db, church, "opt_ins") == before + 1
    last = messages_of(db, conversation_of(db, church, member.phone_e164))[-1]
    assert last.direction == "out" and "subscribed again" in last.body


@pytest.mark.parametrize("word", ["HELP", "info"])
def test_help_answers_with_the_church_help_text(db, church, word):
    church.help_text = "Grace Church: call 312-555-0100. Reply STOP to opt out."
    member = _member(db, church)
    handle_received(telnyx_payload(member.phone_e164, text=word), None)
    db.session.commit()
    last = messages_of(db, conversation_of(db, church, member.phone_e164))[-1]
    assert last.body == church.help_text
    assert _ledger(db, member) == []


def test_help_without_help_text_uses_a_default(db, church):
    church.help_text = None
    member = _member(db, church)
    handle_received(telnyx_payload(member.phone_e164, text="HELP"), None)
    db.session.commit()
    last = messages_of(db, conversation_of(db, church, member.phone_e164))[-1]
    assert church.name in last.body and "STOP" in last.body


def test_join_keyword_adds_to_group_and_sends_auto_reply(db, church):
    youth = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Youth"))
    db.session.add(Keyword(church_id=church.id, word="JOIN YOUTH", group_id=youth.id, auto_reply="Welcome to Youth!"))
    db.session.flush()
    handle_received(telnyx_payload("+17735550161", text="join youth"), None)
    db.session.commit()
    member = db.session.scalar(select(Member).where(Member.church_id == church.id, Member.phone_e164 == "+17735550161"))
    assert db.session.get(GroupMember, (youth.id, member.id)) is not None
    assert member.consent_source == "keyword"
    last = messages_of(db, conversation_of(db, church, member.phone_e164))[-1]
    assert (last.direction, last.body) == ("out", "Welcome to Youth!")


def test_join_keyword_reply_fills_merge_fields_and_writes_a_consent_row(db, church):
    youth = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Youth"))
    reply = "Welcome to the Prayer Team at {church_name}, {first_name|friend}!"
    db.session.add(Keyword(church_id=church.id, word="JOIN PRAYER", group_id=youth.id, auto_reply=reply))
    member = _member(db, church)
    handle_received(telnyx_payload(member.phone_e164, text="Join Prayer"), None)
    db.session.commit()
    last = messages_of(db, conversation_of(db, church, member.phone_e164))[-1]
    assert last.body == f"Welcome to the Prayer Team at {church.name}, Ada!"
    [event] = _ledger(db, member)
    assert (event.action, event.source, event.keyword, event.phone_number) == (
        "opt_in",
        "keyword",
        "JOIN PRAYER",
        GRACE_NUMBER,
    )


def test_join_keyword_sends_nothing_to_an_opted_out_member(db, church):
    youth = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Youth"))
    db.session.add(Keyword(church_id=church.id, word="JOIN YOUTH", group_id=youth.id, auto_reply="Welcome!"))
    member = _member(db, church)
    handle_received(telnyx_payload(member.phone_e164, text="STOP"), None)
    handle_received(telnyx_payload(member.phone_e164, text="JOIN YOUTH"), None)
    db.session.commit()
    directions = [m.direction for m in messages_of(db, conversation_of(db, church, member.phone_e164))]
    assert directions == ["in", "out", "in"]  # the STOP confirmation, then silence
    assert db.session.get(GroupMember, (youth.id, member.id)) is None
    assert [e.action for e in _ledger(db, member)] == ["opt_out"]


def test_help_text_fills_merge_fields(db, church):
    church.help_text = "{church_name}: reply STOP to opt out, {first_name|friend}."
    member = _member(db, church)
    handle_received(telnyx_payload(member.phone_e164, text="HELP"), None)
    db.session.commit()
    last = messages_of(db, conversation_of(db, church, member.phone_e164))[-1]
    assert last.body == f"{church.name}: reply STOP to opt out, Ada."


def test_other_churchs_keyword_does_not_match(db, church, other_church):
    db.session.add(Keyword(church_id=other_church.id, word="PRAY", auto_reply="Hope prays"))
    db.session.flush()
    handle_received(telnyx_payload("+17735550162", text="PRAY"), None)
    db.session.commit()
    assert [m.direction for m in messages_of(db, conversation_of(db, church, "+17735550162"))] == ["in"]


def test_auto_reply_is_sent_through_the_provider_from_the_high_queue(db, church, simulator):
    member = _member(db, church)
    handle_received(telnyx_payload(member.phone_e164, text="HELP"), None)
    db.session.commit()
    run_high_queue()
    reply = messages_of(db, conversation_of(db, church, member.phone_e164))[-1]
    db.session.refresh(reply)
    [sent] = simulator.messages(to=member.phone_e164)
    assert sent["from"] == GRACE_NUMBER and sent["id"] == reply.provider_message_id
    assert reply.status == "sending"  # the status webhooks move it on


def test_stop_confirmation_blocked_by_provider_is_a_success_not_a_failure(db, church, simulator, client, login_as):
    """The provider answers STOP itself and refuses ours (40300): the member was answered all the same."""
    rebuild(church.id)  # figures that match the raw rows (the demo seed wrote history without rows)
    member = _member(db, church)
    simulator.add_fault(member.phone_e164, "opted_out")
    handle_received(telnyx_payload(member.phone_e164, text="STOP"), None)
    db.session.commit()
    failed_before = _stat(db, church, "failed")
    run_high_queue()
    conv = conversation_of(db, church, member.phone_e164)
    reply = messages_of(db, conv)[-1]
    db.session.refresh(reply)
    assert (reply.status, reply.error_code) == ("sent", "carrier_confirmed")
    assert _stat(db, church, "failed") == failed_before
    incremental = {c: _stat(db, church, c) for c in ("sent", "delivered", "failed", "opt_outs")}
    rebuild(church.id)
    db.session.commit()
    assert {c: _stat(db, church, c) for c in incremental} == incremental
    login_as("owner")
    html = client.get(f"/inbox/{conv.id}").get_data(as_text=True)
    assert "carrier sent its opt-out confirmation" in html
    assert "status-failed" not in html and "blocked after STOP" not in html


def test_a_staff_reply_refused_after_stop_stays_a_failure(db, church, simulator):
    member = _member(db, church)
    conv_payload = telnyx_payload(member.phone_e164, text="Thanks")
    handle_received(conv_payload, None)
    db.session.commit()
    simulator.add_fault(member.phone_e164, "opted_out")
    owner = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    message = queue_outbound(
        conversation_of(db, church, member.phone_e164), member, "Hi", from_e164=None, author_id=owner.id
    )
    db.session.commit()
    run_high_queue()
    db.session.refresh(message)
    assert (message.status, message.error_code) == ("failed", "40300")


def test_a_failed_reply_counts_the_same_in_rebuild_stats(db, church, simulator):
    rebuild(church.id)
    member = _member(db, church)
    handle_received(telnyx_payload(member.phone_e164, text="Thanks"), None)
    db.session.commit()
    simulator.add_fault(member.phone_e164, "invalid")
    owner = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    conversation = conversation_of(db, church, member.phone_e164)
    message = queue_outbound(conversation, member, "Hi", from_e164=None, author_id=owner.id)
    db.session.commit()
    run_high_queue()
    db.session.refresh(message)
    assert message.status == "failed"
    incremental = {c: _stat(db, church, c) for c in ("failed", "inbound")}
    rebuild(church.id)
    db.session.commit()
    assert {c: _stat(db, church, c) for c in incremental} == incremental
