"""After a failed submit: a summary of the problems at the top, an open-ended repeat, timing errors that go."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.broadcasts.schedules import describe
from app.models import Schedule


def test_a_failed_submit_lists_each_problem_at_the_top_with_a_link_to_its_field(client, login_as, compose):
    login_as("owner")
    data = compose(body="", when="later", send_date="2020-01-05", send_time="09:00")
    data.pop("group_ids", None)
    data.pop("everyone", None)
    r = client.post("/broadcasts/confirm", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    summary = html[html.index('id="error-summary"') : html.index("</ul>", html.index('id="error-summary"'))]
    assert html.index('id="error-summary"') < html.index('id="composer-form"')
    assert (
        "autofocus"
        in html[
            html.rindex("<div", 0, html.index('id="error-summary"')) : html.index(
                "<h2", html.index('id="error-summary"')
            )
        ]
    )
    assert 'href="#body"' in summary and "Write the message first." in summary
    assert 'href="#send_time"' in summary and "That time has passed" in summary
    assert 'href="#audience"' in summary and "Choose who gets this" in summary


def test_every_form_page_gets_the_summary(client, login_as):
    login_as("owner")
    r = client.post("/groups/new", data={"name": ""})
    assert r.status_code == 422
    assert 'id="error-summary"' in r.get_data(as_text=True)


def test_a_page_without_errors_has_no_summary(client, login_as):
    login_as("owner")
    assert 'id="error-summary"' not in client.get("/broadcasts/new").get_data(as_text=True)


def test_a_repeat_needs_no_end_date(client, login_as, compose, db, church):
    login_as("owner")
    data = compose(when="repeat", repeat_freq="weekly", weekdays=["SU"], send_time="09:00", until="")
    data["idempotency_key"] = "open-ended"
    confirm = client.post("/broadcasts/confirm", data=data)
    assert confirm.status_code == 200, confirm.get_data(as_text=True)
    assert client.post("/broadcasts", data=data).status_code == 302
    schedule = db.session.scalar(select(Schedule).where(Schedule.idempotency_key == "open-ended"))
    assert schedule.until is None and schedule.next_run_at is not None
    assert describe(schedule.rrule) == "Weekly on Sun at 9:00 AM"


def test_that_time_has_passed_goes_once_the_time_is_fixed(client, login_as, compose, church):
    login_as("owner")
    past = compose(when="later", send_date="2020-01-05", send_time="09:00")
    headers = {"HX-Request": "true"}
    r = client.post("/broadcasts/new/when", data=past, headers=headers)
    assert r.status_code == 200 and "That time has passed" in r.get_data(as_text=True)
    day = (datetime.now(ZoneInfo(church.timezone)) + timedelta(days=2)).date().isoformat()
    fixed = compose(when="later", send_date=day, send_time="09:00")
    r = client.post("/broadcasts/new/when", data=fixed, headers=headers)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html and 'id="when-check"' in html
    assert "That time has passed" not in html and "when-changed" in r.headers["HX-Trigger"]


def test_the_live_timing_check_does_not_nag_about_fields_not_picked_yet(client, login_as, compose):
    login_as("owner")
    r = client.post("/broadcasts/new/when", data=compose(when="later"), headers={"HX-Request": "true"})
    assert "Pick a date" not in r.get_data(as_text=True)


def test_the_audience_error_is_styled_as_an_error_everywhere():
    css = open("static/css/app.css").read()
    assert "\n.error {" in css and "color: var(--danger-text)" in css.split("\n.error {", 1)[1].split("}", 1)[0]
