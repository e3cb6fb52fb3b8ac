"""Each role is shown only its actions; what it cannot do answers a designed page, not a bare 403."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Broadcast, Template
from tests.integration.dashboard.helpers import broadcast


def test_a_leader_sees_no_cancel_button_on_an_admins_broadcast(client, db, church, login_as, compose):
    login_as("owner")
    client.post("/broadcasts", data=compose())
    b = db.session.scalar(select(Broadcast).where(Broadcast.church_id == church.id).order_by(Broadcast.id.desc()))
    login_as("leader")
    page = client.get(f"/broadcasts/{b.id}").get_data(as_text=True)
    assert page.count("Cancel broadcast") == 0


def test_a_leader_who_may_not_send_sees_no_templates_or_composer_buttons(client, db, church, login_as):
    church.leaders_can_send = False
    db.session.add(Template(church_id=church.id, name="Welcome", body="Welcome!"))
    broadcast(church.id, body="Hello", status="sent")
    db.session.commit()
    login_as("leader")
    listing = client.get("/broadcasts").get_data(as_text=True)
    assert ">Templates</a>" not in listing and "New broadcast" not in listing
    templates = client.get("/templates").get_data(as_text=True)
    assert ">Use</a>" not in templates and "Welcome" in templates


def test_forbidden_is_a_page_with_layout_plain_words_and_a_way_back(client, login_as):
    login_as("leader")
    response = client.get("/ops", headers={"Referer": "http://localhost/broadcasts"})
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "You don&#39;t have access to this" in html and "As a ministry leader" in html
    assert 'href="http://localhost/broadcasts">Go back</a>' in html and "Go to the start page" in html
    assert 'class="nav' in html or "<nav" in html
