"""Every model the cache registry knows moves the pages that show it.

For each registered model, a case warms the page that shows such a row, changes one through the
route or service people use, and asks again as a fresh process would (nothing remembered in this
process, only Redis and the database): the change must be on the page. A model added to the
registry without a case here fails `test_every_registered_model_has_a_case`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import g
from sqlalchemy import select

from app import cache
from app.auth import sessions
from app.billing import allowance
from app.broadcasts.audience import AudienceSpec
from app.broadcasts.forms import Recurrence
from app.broadcasts.schedules import create_schedule
from app.broadcasts.services import create_broadcast
from app.cache.registry import REGISTRY
from app.inbox.inbound import handle_received
from app.inbox.templating import Clock
from app.models import (
    Broadcast,
    Church,
    Conversation,
    ConversationMessage,
    ConversationNote,
    DailyStat,
    Group,
    GroupLeader,
    GroupMember,
    Member,
    Schedule,
    Subscription,
    Template,
    UsagePeriod,
    User,
    UserSession,
)
from app.usage import record_usage
from tests.integration.inbox.conftest import conversation_of, telnyx_payload

CASES: dict[type, Callable[..., None]] = {}


def case(*models: type):
    def register(fn):
        for model in models:
            CASES[model] = fn
        return fn

    return register


def as_another_process(client, path: str) -> str:
    """GET `path` as a process that has served nothing yet would (Redis and the database only)."""
    cache.forget_local()
    for name in ("_login_user", "inbox_clock", "_koinonia_allowance"):
        g.pop(name, None)  # the test shares one app context; a real request starts without them
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def texts_in(db, church, phone: str, text: str, at: datetime | None = None) -> Conversation:
    payload = telnyx_payload(phone, text=text)
    if at is not None:
        payload["received_at"] = at.isoformat().replace("+00:00", "Z")
    handle_received(payload, None)
    db.session.commit()
    return conversation_of(db, church, phone)


def youth(db, church) -> Group:
    return db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Youth"))


@case(Church)
def church_time_zone_shows_in_cached_threads(client, db, church, login_as):
    """The first of the two gaps: a saved time zone shows at once in a thread cached before it."""
    login_as("owner")
    at = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=3)
    conv = texts_in(db, church, "+17735550301", "What time is it there?", at)
    assert Clock("America/Chicago").stamp(at) in as_another_process(client, f"/inbox/{conv.id}")
    # A zone on the same calendar day, so that the pane's name (which holds the day) stays the same.
    zone = next(z for z in ("America/Denver", "America/New_York") if Clock(z).today == Clock("America/Chicago").today)
    form = {"name": church.name, "timezone": zone, "help_text": "", "quiet_hours": ""}
    assert client.post("/settings/church", data=form).status_code == 302
    html = as_another_process(client, f"/inbox/{conv.id}")
    assert Clock(zone).stamp(at) in html and Clock("America/Chicago").stamp(at) not in html


@case(User)
def staff_names_show_in_cached_threads(client, db, church, login_as):
    login_as("owner")
    conv = texts_in(db, church, "+17735550302", "Who can help?")
    as_another_process(client, f"/inbox/{conv.id}")
    leader = db.session.scalar(select(User).where(User.email == "leader@example.org"))
    leader.name = "Rachel Adeyemi"
    db.session.commit()
    assert ">Rachel Adeyemi (leader)</option>" in as_another_process(client, f"/inbox/{conv.id}")


@case(UserSession)
def an_ended_session_is_refused_where_it_was_remembered(client, db, church, login_as):
    """Not a page but the identity: this process remembered the session, and its end still shows at once."""
    owner = login_as("owner")
    phone = client.application.test_client()
    key = sessions.start(owner, "a phone", "127.0.0.1")
    db.session.commit()
    with phone.session_transaction() as session:
        session["_user_id"] = sessions.token_for(owner, key)
    g.pop("_login_user", None)
    assert phone.get("/").status_code == 200
    g.pop("_login_user", None)
    assert client.post("/account/sessions/end", data={"session": key}).status_code == 302
    g.pop("_login_user", None)
    assert phone.get("/").status_code == 302


@case(Template)
def canned_replies_show_in_cached_threads(client, db, church, login_as):
    login_as("owner")
    conv = texts_in(db, church, "+17735550303", "When is choir?")
    as_another_process(client, f"/inbox/{conv.id}")
    form = {"name": "Choir times", "body": "Choir meets Thursdays at 7pm."}
    assert client.post("/templates/new", data=form).status_code == 302
    assert ">Choir times</option>" in as_another_process(client, f"/inbox/{conv.id}")


@case(Conversation)
def a_closed_conversation_leaves_the_cached_list(client, db, church, login_as):
    login_as("owner")
    conv = texts_in(db, church, "+17735550304", "Thanks, all sorted")
    assert f'id="conv-{conv.id}"' in as_another_process(client, "/inbox")
    assert client.post(f"/inbox/{conv.id}/status", data={"status": "closed"}).status_code == 302
    assert f'id="conv-{conv.id}"' not in as_another_process(client, "/inbox")


@case(ConversationMessage)
def a_new_message_shows_in_the_cached_thread_and_list(client, db, church, login_as):
    login_as("owner")
    conv = texts_in(db, church, "+17735550305", "First text")
    as_another_process(client, f"/inbox/{conv.id}")
    texts_in(db, church, "+17735550305", "Second text")
    html = as_another_process(client, f"/inbox/{conv.id}")
    assert html.count("Second text") >= 2  # the thread and the list row's preview


@case(ConversationNote)
def a_note_shows_in_the_cached_thread(client, db, church, login_as):
    login_as("owner")
    conv = texts_in(db, church, "+17735550306", "Please pray for my mum")
    as_another_process(client, f"/inbox/{conv.id}")
    assert client.post(f"/inbox/{conv.id}/notes", data={"body": "Called her on Tuesday"}).status_code == 302
    assert "Called her on Tuesday" in as_another_process(client, f"/inbox/{conv.id}")


@case(Member)
def a_member_edit_shows_in_the_cached_thread_and_list(client, db, church, login_as):
    login_as("owner")
    conv = texts_in(db, church, "+17735550307", "Hi, it's me")
    as_another_process(client, f"/inbox/{conv.id}")
    edit = {"first_name": "Esther", "last_name": "Boateng", "phone": "+17735550307", "language": "en"}
    assert client.post(f"/members/{conv.member_id}/edit", data={**edit, "branch_id": "0"}).status_code == 302
    html = as_another_process(client, f"/inbox/{conv.id}")
    assert "<h2>Esther Boateng</h2>" in html and html.count("Esther Boateng") >= 2


@case(GroupMember)
def a_leaders_cached_list_follows_group_membership(client, db, church, login_as):
    """The second gap: a member added to a leader's group shows in their list at once."""
    conv = texts_in(db, church, "+17735550308", "Is youth group on Friday?")
    login_as("leader")
    assert f'id="conv-{conv.id}"' not in as_another_process(client, "/inbox")
    login_as("owner")
    group = youth(db, church)
    assert client.post(f"/groups/{group.id}/members", data={"ids": [str(conv.member_id)]}).status_code == 302
    login_as("leader")
    assert f'id="conv-{conv.id}"' in as_another_process(client, "/inbox")


@case(GroupLeader)
def a_leaders_cached_list_follows_whom_they_lead(client, db, church, login_as):
    conv = texts_in(db, church, "+17735550309", "Can I join the worship team?")
    worship = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Worship Team"))
    db.session.add(GroupMember(church_id=church.id, group_id=worship.id, member_id=conv.member_id))
    db.session.commit()
    leader = login_as("leader")
    assert f'id="conv-{conv.id}"' not in as_another_process(client, "/inbox")
    login_as("owner")
    assert client.post(f"/groups/{worship.id}/leaders", data={"user_id": str(leader.id)}).status_code == 302
    login_as("leader")
    assert f'id="conv-{conv.id}"' in as_another_process(client, "/inbox")
    login_as("owner")
    assert client.post(f"/groups/{worship.id}/leaders/{leader.id}/delete").status_code == 302
    login_as("leader")
    assert f'id="conv-{conv.id}"' not in as_another_process(client, "/inbox")


@case(Group)
def a_deleted_group_leaves_its_leaders_cached_list(client, db, church, login_as):
    conv = texts_in(db, church, "+17735550310", "Youth question")
    group = youth(db, church)
    db.session.add(GroupMember(church_id=church.id, group_id=group.id, member_id=conv.member_id))
    db.session.commit()
    login_as("leader")
    assert f'id="conv-{conv.id}"' in as_another_process(client, "/inbox")
    login_as("owner")
    assert client.post(f"/groups/{group.id}/delete", data={"confirm": "yes"}).status_code == 302
    login_as("leader")
    assert f'id="conv-{conv.id}"' not in as_another_process(client, "/inbox")


@case(Broadcast)
def a_new_broadcast_shows_on_the_cached_dashboard(client, db, church, login_as):
    owner = login_as("owner")
    as_another_process(client, "/")
    create_broadcast(
        church,
        owner,
        body="Harvest supper this Saturday",
        media_urls=[],
        spec=AudienceSpec(everyone=True),
        idempotency_key=str(uuid.uuid4()),
        scheduled_at=datetime.now(UTC) + timedelta(days=2),
    )
    assert "Harvest supper this Saturday" in as_another_process(client, "/")


@case(Schedule)
def a_new_schedule_shows_on_the_cached_dashboard(client, db, church, login_as):
    owner = login_as("owner")
    as_another_process(client, "/")
    start = datetime.combine(date.today() + timedelta(days=1), datetime.min.time()).replace(hour=9)
    rec = Recurrence("weekly", start, date.today() + timedelta(days=60), ("SU",))
    create_schedule(church, owner, body="Sunday reminder: bring a friend", media_urls=[], audience={}, rec=rec)
    assert "Sunday reminder: bring a friend" in as_another_process(client, "/")


@case(Subscription)
def a_failed_payment_shows_in_the_cached_banners(client, db, church, login_as):
    login_as("owner")
    assert "last payment failed" not in as_another_process(client, "/")
    db.session.add(
        Subscription(church_id=church.id, status="past_due", plan="growth", past_due_since=datetime.now(UTC))
    )
    db.session.commit()  # what the Stripe webhook's transaction does
    assert "last payment failed" in as_another_process(client, "/")


@case(UsagePeriod)
def usage_shows_in_the_cached_banners(client, db, church, login_as):
    login_as("owner")
    page = as_another_process(client, "/")
    assert "segments are used up" not in page
    record_usage(church.id, allowance.check_for_page(church).allowance)
    db.session.commit()
    assert "segments are used up" in as_another_process(client, "/")


@case(DailyStat)
def a_reply_counts_on_the_cached_dashboard(client, db, church, login_as):
    login_as("owner")

    def replies(page: str) -> int:
        card = page.split("Replies", 1)[1]
        return int(card.split('class="stat-value">', 1)[1].split("<", 1)[0].replace(",", ""))

    before = replies(as_another_process(client, "/"))
    texts_in(db, church, "+17735550311", "Count me in")
    assert replies(as_another_process(client, "/")) == before + 1


def test_every_registered_model_has_a_case():
    assert set(REGISTRY) == set(CASES), "add a case here for every model the cache registry moves"


@pytest.mark.parametrize("model", sorted(CASES, key=lambda m: m.__name__), ids=lambda m: m.__name__)
def test_a_change_moves_every_page_that_shows_it(model, client, db, church, login_as):
    CASES[model](client, db, church, login_as)


def test_saving_the_time_zone_renews_cached_threads(client, db, church, login_as):
    """Regression: a thread cached before the church's time zone was saved kept the old zone for 10 minutes."""
    church_time_zone_shows_in_cached_threads(client, db, church, login_as)


def test_group_and_leader_changes_renew_a_leaders_cached_list(client, db, church, login_as):
    """Regression: a leader's conversation list stayed wrong for up to 60 s after a group or leader change."""
    a_leaders_cached_list_follows_group_membership(client, db, church, login_as)
    a_leaders_cached_list_follows_whom_they_lead(client, db, church, login_as)
