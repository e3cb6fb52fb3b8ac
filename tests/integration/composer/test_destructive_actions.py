"""What cannot be undone is confirmed first; what can be undone offers an Undo button."""

from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from app.inbox.inbound import handle_received
from app.models import Broadcast, Template
from tests.integration.inbox.conftest import conversation_of, telnyx_payload

HX = {"HX-Request": "true"}


def _scheduled(client, db, church, compose):
    day = date.today() + timedelta(days=12)
    client.post("/broadcasts", data=compose(when="later", send_date=day.isoformat(), send_time="09:30"))
    return db.session.scalar(select(Broadcast).where(Broadcast.church_id == church.id).order_by(Broadcast.id.desc()))


def test_cancelling_a_broadcast_asks_first_and_it_keeps_its_scheduled_time(client, db, church, login_as, compose):
    login_as("owner")
    b = _scheduled(client, db, church, compose)
    page = client.get(f"/broadcasts/{b.id}").get_data(as_text=True)
    assert f'href="/broadcasts/{b.id}/cancel"' in page  # a link to the question, not a button that acts
    ask = client.get(f"/broadcasts/{b.id}/cancel")
    assert ask.status_code == 200 and "This cannot be undone." in ask.get_data(as_text=True)
    db.session.refresh(b)
    assert b.status == "scheduled"
    assert client.post(f"/broadcasts/{b.id}/cancel").status_code == 302
    db.session.refresh(b)
    assert b.status == "cancelled"
    page = client.get(f"/broadcasts/{b.id}").get_data(as_text=True)
    assert "was scheduled for" in page and "9:30 AM" in page
    assert "Was scheduled for" in client.get("/broadcasts").get_data(as_text=True)


def test_a_deleted_template_comes_back_with_undo_once(client, db, church, login_as):
    login_as("owner")
    template = Template(church_id=church.id, name="Welcome", body="Welcome, {first_name|friend}!")
    db.session.add(template)
    db.session.commit()
    template_id = template.id
    page = client.post(f"/templates/{template_id}/delete", follow_redirects=True).get_data(as_text=True)
    assert "Template “Welcome” deleted." in page and ">Undo</button>" in page
    assert db.session.get(Template, template_id) is None
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    restored = client.post("/templates/restore", data={"token": token}, follow_redirects=True).get_data(as_text=True)
    assert "Template “Welcome” restored." in restored
    back = db.session.get(Template, template_id)
    assert back is not None and back.body == "Welcome, {first_name|friend}!"
    again = client.post("/templates/restore", data={"token": token}, follow_redirects=True).get_data(as_text=True)
    assert "can no longer be restored" in again


def test_another_church_cannot_restore_a_template(client, db, church, login_as):
    login_as("owner")
    template = Template(church_id=church.id, name="Grace only", body="Hi")
    db.session.add(template)
    db.session.commit()
    page = client.post(f"/templates/{template.id}/delete", follow_redirects=True).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)
    login_as("hope")
    client.post("/templates/restore", data={"token": token})
    assert db.session.scalar(select(Template).where(Template.name == "Grace only")) is None


def test_closing_a_conversation_offers_undo(client, db, church, login_as):
    login_as("owner")
    handle_received(telnyx_payload("+17735550181", text="Thanks!"), None)
    db.session.commit()
    conv = conversation_of(db, church, "+17735550181")
    header = client.post(f"/inbox/{conv.id}/status", data={"status": "closed"}, headers=HX).get_data(as_text=True)
    assert "Conversation closed." in header and ">Undo</button>" in header
    assert 'name="status" value="open"' in header.split("undo-notice", 1)[1]
    page = client.post(f"/inbox/{conv.id}/status", data={"status": "open"}, follow_redirects=True)
    db.session.refresh(conv)
    assert conv.status == "open" and page.status_code == 200
    page = client.post(f"/inbox/{conv.id}/status", data={"status": "archived"}, follow_redirects=True)
    assert "Conversation archived." in page.get_data(as_text=True)
