"""/account/notifications: defaults, saving, bounds, and every user keeping their own choices."""

from __future__ import annotations

from app.models import NotificationSetting
from app.notifications.services import Preferences, preferences_of


def test_defaults_are_mail_after_five_minutes_without_text_and_push_on(client, db, login_as):
    user = login_as("leader")
    assert preferences_of(user.id) == Preferences(5, False, True)
    page = client.get("/account/notifications")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="email_after_minutes"' in html and 'value="5"' in html
    assert 'checked id="email"' in html and 'checked id="push"' in html and 'checked id="include_text"' not in html
    assert 'class="icon-link" href="/account/notifications" title="Notifications"' in html  # the user menu


def test_saving_keeps_the_choices(client, db, login_as):
    user = login_as("leader")
    response = client.post(
        "/account/notifications", data={"email": "y", "email_after_minutes": "30", "include_text": "y"}
    )
    assert response.status_code == 302
    assert preferences_of(user.id) == Preferences(30, True, False)
    # Mail off: no minutes at all, whatever was typed.
    client.post("/account/notifications", data={"email_after_minutes": "30", "push": "y"})
    assert preferences_of(user.id) == Preferences(None, False, True)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert "Notification settings saved." in page


def test_minutes_out_of_bounds_are_refused_next_to_the_field(client, db, login_as):
    user = login_as("leader")
    for typed in ("0", "1441", "abc", "", "9" * 5000):
        response = client.post("/account/notifications", data={"email": "y", "email_after_minutes": typed})
        assert response.status_code == 422, typed
        html = response.get_data(as_text=True)
        assert 'id="email_after_minutes-error"' in html and "from 1 to 1440" in html
    assert db.session.get(NotificationSetting, user.id) is None


def test_each_user_has_their_own_row_in_their_church(client, db, church, login_as):
    leader = login_as("leader")
    client.post("/account/notifications", data={"email": "y", "email_after_minutes": "12"})
    owner = login_as("owner")
    assert client.post("/account/notifications", data={"push": "y"}).status_code == 302
    assert preferences_of(leader.id).email_after_minutes == 12
    assert preferences_of(owner.id).email_after_minutes is None
    assert db.session.get(NotificationSetting, leader.id).church_id == church.id


def test_signed_out_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/account/notifications")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
