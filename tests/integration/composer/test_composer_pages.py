"""Composer pages and partials: the page, the live counter, the audience count, member search."""

import pytest
from sqlalchemy import func, select

from app.models import Broadcast, Member, Template
from app.people.phones import format_national

HX = {"HX-Request": "true"}


def test_composer_page_has_a_fresh_idempotency_key(client, login_as):
    login_as("owner")
    first = client.get("/broadcasts/new")
    second = client.get("/broadcasts/new")
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    assert 'name="idempotency_key"' in html and "Youth" in html and 'hx-post="/broadcasts/new/counter"' in html
    key = lambda h: h.split('name="idempotency_key"', 1)[1].split('value="', 1)[1].split('"', 1)[0]  # noqa: E731
    assert key(html) != key(second.get_data(as_text=True))


def test_counter_partial_counts_and_names_ucs2_characters(client, login_as, compose):
    login_as("owner")
    r = client.post(
        "/broadcasts/new/counter", data=compose(body="Grace: see you Sunday \u2014 bring a friend 🙏"), headers=HX
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html
    assert "UCS-2" in html and "<kbd>🙏</kbd>" in html and "<kbd>\u2014</kbd>" in html
    assert "Replace smart quotes and dashes" in html
    assert "Estimated cost" in html and "Allowance left" in html


def test_counter_gsm_and_preview_for_a_real_member(client, login_as, compose, youth, db):
    login_as("owner")
    r = client.post("/broadcasts/new/counter", data=compose(), headers=HX)
    html = r.get_data(as_text=True)
    assert "GSM-7" in html and "UCS-2 because" not in html
    from app.models import GroupMember

    first = db.session.scalar(
        select(Member.first_name)
        .join(GroupMember, GroupMember.member_id == Member.id)
        .where(GroupMember.group_id == youth.id, Member.opted_out_at.is_(None))
        .order_by(Member.id)
        .limit(1)
    )
    assert f"youth night Friday at 7, {first}!" in html
    assert "No deliverability problems found." in html


def test_counter_warns_about_shorteners_and_missing_church_name(client, login_as, compose):
    login_as("owner")
    html = client.post("/broadcasts/new/counter", data=compose(body="Sign up at bit.ly/youth"), headers=HX).get_data(
        as_text=True
    )
    assert "Link shortener" in html and "name the church" in html


def test_smart_quotes_button_rewrites_the_body(client, login_as, compose):
    login_as("owner")
    r = client.post(
        "/broadcasts/new/smart-quotes", data=compose(body="Grace: it\u2019s \u201cgreat\u201d \u2014 come"), headers=HX
    )
    html = r.get_data(as_text=True)
    assert "it&#39;s &#34;great&#34; - come" in html or 'it\'s "great" - come' in html


def test_audience_count_partial_reports_left_out_and_triggers_counter(client, login_as, compose, db, church, youth):
    login_as("owner")
    opted_out = db.session.scalar(
        select(func.count()).select_from(Member).where(Member.church_id == church.id, Member.opted_out_at.is_not(None))
    )
    r = client.post("/broadcasts/new/audience", data=compose(group_ids=[], everyone="y"), headers=HX)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and r.headers["HX-Trigger"] == '{"audience-changed": true}'
    assert f"{opted_out} opted out" in html
    assert 'id="audience-count"' in html


def test_member_search_returns_chips_of_this_church_only(client, login_as, db, church, other_church):
    login_as("owner")
    db.session.add(Member(church_id=other_church.id, first_name="Zebediah", phone_e164="+13125559999"))
    db.session.add(Member(church_id=church.id, first_name="Zacchaeus", phone_e164="+13125558888"))
    db.session.flush()
    html = client.get("/broadcasts/new/members?q=Za", headers=HX).get_data(as_text=True)
    assert "Zacchaeus" in html and "Zebediah" not in html and 'name="member_ids"' in html


def test_template_prefills_the_composer_and_crud(client, login_as, db, church):
    login_as("owner")
    r = client.post("/templates/new", data={"name": "Welcome", "body": "Welcome to {church_name}!"})
    assert r.status_code == 302
    t = db.session.scalar(select(Template).where(Template.church_id == church.id, Template.name == "Welcome"))
    assert "Welcome to {church_name}!" in client.get(f"/broadcasts/new?template_id={t.id}").get_data(as_text=True)
    assert "Welcome" in client.get("/templates").get_data(as_text=True)
    assert client.post("/templates/new", data={"name": "Welcome", "body": "x"}).status_code == 422
    assert client.post(f"/templates/{t.id}/edit", data={"name": "Hello", "body": "Hi"}).status_code == 302
    assert db.session.get(Template, t.id).name == "Hello"
    assert client.post(f"/templates/{t.id}/delete").status_code == 302
    assert db.session.get(Template, t.id) is None


def test_confirm_shows_recipients_segments_cost_and_warnings(client, login_as, compose):
    login_as("owner")
    r = client.post("/broadcasts/confirm", data=compose(body="YOUTH NIGHT IS FRIDAY AT SEVEN"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Recipients" in html and "Estimated cost" in html and "Segments" in html
    assert "CAPITALS" in html and "you can send anyway" in html
    assert 'name="idempotency_key" value="key-1"' in html


def test_validation_errors_by_the_field_keep_what_was_typed(client, login_as, compose):
    login_as("owner")
    r = client.post("/broadcasts/confirm", data=compose(body="", group_ids=[], media_urls="http://x.test/a.png"))
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="body-error"' in html and "Choose who gets this" in html and "https://" in html
    assert "http://x.test/a.png" in html
    r = client.post("/broadcasts/confirm", data=compose(when="later"))
    assert r.status_code == 422 and "Pick a date." in r.get_data(as_text=True)


def test_list_and_detail_pages(client, login_as, compose, db, church):
    login_as("owner")
    client.post("/broadcasts", data=compose())
    b = db.session.scalar(select(Broadcast).where(Broadcast.church_id == church.id).order_by(Broadcast.id.desc()))
    listing = client.get("/broadcasts").get_data(as_text=True)
    assert "youth night Friday" in listing and "status-sending" in listing
    page = client.get(f"/broadcasts/{b.id}").get_data(as_text=True)
    assert 'id="progress"' in page and 'hx-trigger="every 2s"' in page and "replies: 0" in page
    assert "Cancel broadcast" in page
    partial = client.get(f"/broadcasts/{b.id}/progress", headers=HX).get_data(as_text=True)
    assert "<html" not in partial and 'hx-trigger="every 2s"' in partial


def test_progress_partial_stops_polling_when_done(client, login_as, compose, db, church):
    login_as("owner")
    client.post("/broadcasts", data=compose())
    b = db.session.scalar(select(Broadcast).where(Broadcast.church_id == church.id).order_by(Broadcast.id.desc()))
    client.post(f"/broadcasts/{b.id}/cancel")
    db.session.refresh(b)
    assert b.status == "cancelled"
    partial = client.get(f"/broadcasts/{b.id}/progress", headers=HX).get_data(as_text=True)
    assert "hx-trigger" not in partial and "finished" in partial


@pytest.mark.usefixtures("no_demo_history")
def test_list_pages_by_keyset_and_answers_fragments_to_htmx(client, login_as, db, church):
    from app.broadcasts.history import PAGE_SIZE
    from app.models import Conversation, ConversationMessage
    from tests.tenant_rows import ensure_row

    login_as("owner")
    made = [Broadcast(church_id=church.id, body=f"Grace note {n:02d}", status="sent") for n in range(PAGE_SIZE + 2)]
    db.session.add_all(made)
    db.session.flush()
    conversation_id = ensure_row(Conversation, church)
    db.session.add(
        ConversationMessage(
            church_id=church.id,
            conversation_id=conversation_id,
            direction="in",
            body="Amen",
            status="received",
            broadcast_id=made[-1].id,
        )
    )
    db.session.flush()
    first = client.get("/broadcasts").get_data(as_text=True)
    assert f"Grace note {PAGE_SIZE + 1:02d}" in first and "Grace note 00" not in first
    assert f'href="/broadcasts?before={made[2].id}"' in first
    nxt = client.get(f"/broadcasts?before={made[2].id}", headers=HX)
    html = nxt.get_data(as_text=True)
    assert "<html" not in html and "Grace note 00" in html and "Grace note 01" in html
    assert "Grace note 02" not in html and "Older broadcasts" not in html
    # The newest broadcast shows its one reply.
    row = first.split(f"Grace note {PAGE_SIZE + 1:02d}", 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">1</td>' in row


def test_first_text_to_newly_imported_members_asks_for_stop_language(client, login_as, compose, db, church, youth):
    from app.models import GroupMember

    login_as("owner")
    imported = Member(church_id=church.id, first_name="Nia", phone_e164="+13125557777", consent_source="import")
    db.session.add(imported)
    db.session.flush()
    db.session.add(GroupMember(church_id=church.id, group_id=youth.id, member_id=imported.id))
    db.session.flush()
    html = client.post("/broadcasts/new/counter", data=compose(), headers=HX).get_data(as_text=True)
    assert "First text to 1 newly imported person" in html
    body = "Grace: youth night Friday! Reply STOP to opt out"
    html = client.post("/broadcasts/new/counter", data=compose(body=body), headers=HX).get_data(as_text=True)
    assert "newly imported" not in html
    # Once they have had a broadcast, they are no longer new.
    client.post("/broadcasts", data=compose(body=body, idempotency_key="welcome"))
    html = client.post("/broadcasts/new/counter", data=compose(), headers=HX).get_data(as_text=True)
    assert "newly imported" not in html


def test_detail_lists_failed_recipients_with_their_error_codes(client, login_as, compose, db, church):
    from app.models import BroadcastRecipient

    login_as("owner")
    client.post("/broadcasts", data=compose(idempotency_key="fail-1"))
    b = db.session.scalar(select(Broadcast).where(Broadcast.idempotency_key == "fail-1"))
    r = db.session.scalar(select(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == b.id).limit(1))
    r.status, r.error_code, r.error_detail = "failed", "30007", "The carrier filtered it as spam."
    db.session.flush()
    html = client.get(f"/broadcasts/{b.id}").get_data(as_text=True)
    assert "<code>30007</code>" in html and "filtered it as spam" in html and format_national(r.to_e164) in html


def test_polled_progress_refreshes_the_status_badge_and_cancel_button(client, login_as, compose, db, church):
    login_as("owner")
    client.post("/broadcasts", data=compose(idempotency_key="oob"))
    b = db.session.scalar(select(Broadcast).where(Broadcast.idempotency_key == "oob"))
    partial = client.get(f"/broadcasts/{b.id}/progress", headers=HX).get_data(as_text=True)
    assert 'id="broadcast-status" hx-swap-oob="true"' in partial and "Cancel broadcast" in partial
    page = client.get(f"/broadcasts/{b.id}").get_data(as_text=True)
    assert "hx-swap-oob" not in page
    client.post(f"/broadcasts/{b.id}/cancel")
    partial = client.get(f"/broadcasts/{b.id}/progress", headers=HX).get_data(as_text=True)
    assert "Cancelled" in partial and "Cancel broadcast" not in partial


def test_detail_page_says_when_quiet_hours_hold_a_sending_broadcast(client, db, church, login_as):
    """A broadcast waiting for quiet hours to end says so instead of looking stuck."""
    from datetime import time

    from app.broadcasts.audience import AudienceSpec
    from app.broadcasts.services import create_broadcast
    from app.models import Group, User

    # Quiet all day except one minute: whatever the time of the run, it is inside.
    church.quiet_hours_start, church.quiet_hours_end = time(0, 1), time(0, 0)
    youth = db.session.scalar(db.select(Group).where(Group.church_id == church.id, Group.name == "Youth"))
    owner = db.session.scalar(db.select(User).where(User.email == "admin@example.org"))
    broadcast = create_broadcast(
        church,
        owner,
        body="Grace Community Church: see you Friday",
        media_urls=[],
        spec=AudienceSpec(group_ids=[youth.id]),
        idempotency_key="quiet-hold-test",
    )
    login_as("owner")
    page = client.get(f"/broadcasts/{broadcast.id}").get_data(as_text=True)
    assert "Held for quiet hours: sending resumes at" in page


def test_over_allowance_counter_links_owners_to_billing(client, login_as, compose, church):
    church.sms_quota = 1
    login_as("owner")
    html = client.post("/broadcasts/new/counter", data=compose(), headers=HX).get_data(as_text=True)
    assert "Over by" in html and 'href="/billing"' in html


def test_over_allowance_counter_tells_admins_who_can_upgrade(client, login_as, compose, church):
    """/billing is for owners only, so admins are told who can upgrade instead of getting a link to a 403."""
    church.sms_quota = 1
    login_as("admin")
    html = client.post("/broadcasts/new/counter", data=compose(), headers=HX).get_data(as_text=True)
    assert "Over by" in html and 'href="/billing"' not in html
    assert "the church owner can upgrade the plan" in html


def test_a_template_id_that_is_not_an_id_opens_an_empty_composer(client, login_as):
    login_as("owner")  # past a bigint, the lookup was a 500
    for raw in ("9" * 25, "-1", "²", "abc"):
        assert client.get(f"/broadcasts/new?template_id={raw}").status_code == 200, raw


def test_a_page_cursor_past_bigint_is_ignored_not_a_server_error(client, login_as):
    login_as("owner")
    for before in ("-99999999999999999999", "99999999999999999999", "x"):
        assert client.get(f"/broadcasts?before={before}").status_code == 200


@pytest.mark.usefixtures("no_demo_history")
def test_a_scheduled_broadcast_says_when_it_goes_not_that_it_is_updating(client, login_as, compose, db, church):
    from datetime import date, timedelta

    login_as("owner")
    day = date.today() + timedelta(days=12)
    client.post("/broadcasts", data=compose(when="later", send_date=day.isoformat(), send_time="09:30"))
    b = db.session.scalar(select(Broadcast).where(Broadcast.church_id == church.id).order_by(Broadcast.id.desc()))
    assert b.status == "scheduled"
    page = client.get(f"/broadcasts/{b.id}").get_data(as_text=True)
    assert "Scheduled for" in page and "9:30 AM" in page
    assert "updating…" not in page and "% delivered" not in page and "Queued <strong>" not in page
    listing = client.get("/broadcasts").get_data(as_text=True)
    assert "Scheduled for" in listing and "0%" not in listing
