"""Sign-up: a verification mail whose link makes the church on a Starter trial and signs its owner in."""

from __future__ import annotations

from flask import g
from sqlalchemy import func, select

from app.models import AccountToken, Church, Subscription, User
from tests.conftest import deliver_mail
from tests.integration.accounts.conftest import mailed_link

FORM = {
    "church_name": "Riverside Fellowship",
    "timezone": "America/New_York",
    "name": "Mary Pastor",
    "email": "mary@riverside.example",
    "password": "still waters run deep",
    "website": "",
}


def _signup(client, **changes):
    return client.post("/signup", data={**FORM, **changes})


def test_the_page_offers_every_field(client):
    html = client.get("/signup").get_data(as_text=True)
    for name in ("church_name", "timezone", "name", "email", "password"):
        assert f'name="{name}"' in html
    assert 'data-guess-timezone="1"' in html and "js/signup.js" in html


def test_signing_up_mails_a_link_that_makes_the_church_and_signs_the_owner_in(app, client, db, mailbox):
    response = _signup(client)
    assert response.status_code == 302 and response.headers["Location"].endswith("/signup/sent")
    assert db.session.scalar(select(Church).where(Church.name == FORM["church_name"])) is None  # not before

    path = mailed_link(mailbox, FORM["email"], "/signup/verify/")
    assert mailbox.messages(FORM["email"])[0]["text"].count(app.config["APP_BASE_URL"] + path) == 1
    opened = client.get(path)
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/")

    church = db.session.scalar(select(Church).where(Church.name == FORM["church_name"]))
    assert church.timezone == "America/New_York" and church.plan == "starter" and church.onboarded_at is None
    owner = db.session.scalar(select(User).where(User.church_id == church.id))
    assert owner.role == "owner" and owner.email == FORM["email"] and owner.email_verified_at is not None
    sub = db.session.scalar(select(Subscription).where(Subscription.church_id == church.id))
    assert sub.status == "trialing" and sub.plan == "starter" and sub.current_period_end is not None

    g.pop("_login_user", None)
    dashboard = client.get("/").get_data(as_text=True)
    assert "Riverside Fellowship" in dashboard and 'id="onboarding-number"' in dashboard
    assert 'id="onboarding-verify" data-done="true"' in dashboard
    assert "/settings/staff" in dashboard


def test_the_verification_link_works_once(client, db, mailbox):
    _signup(client)
    path = mailed_link(mailbox, FORM["email"], "/signup/verify/")
    assert client.get(path).status_code == 302
    client.post("/logout")
    again = client.get(path)
    assert again.status_code == 410 and 'type="password"' not in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Church).where(Church.name == FORM["church_name"])) == 1


def test_an_address_with_an_account_gets_a_notice_not_a_church(client, db, mailbox):
    response = _signup(client, email="ADMIN@example.org")
    assert response.status_code == 302 and response.headers["Location"].endswith("/signup/sent")
    deliver_mail()
    [notice] = mailbox.messages("admin@example.org")
    assert notice["subject"] == "You already have a Koinonia account"
    assert db.session.scalar(select(func.count()).select_from(AccountToken)) == 0


def test_two_pending_sign_ups_for_one_address_make_one_account(client, db, mailbox):
    _signup(client)
    _signup(client, church_name="Second Try Church")
    deliver_mail()
    paths = [mailed_link(mailbox, FORM["email"], "/signup/verify/")]
    first = mailbox.messages(FORM["email"])[0]["text"]
    paths.insert(0, "/signup/verify/" + first.split("/signup/verify/")[1].split()[0])
    assert client.get(paths[0]).status_code == 302
    client.post("/logout")
    response = client.get(paths[1])
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == FORM["email"])) == 1


def test_the_honeypot_answers_like_success_and_does_nothing(client, db, mailbox):
    response = _signup(client, website="http://spam.example")
    assert response.status_code == 302
    deliver_mail()
    assert mailbox.messages() == []
    assert db.session.scalar(select(func.count()).select_from(AccountToken)) == 0


def test_bad_input_is_refused_by_the_field_and_kept(client, mailbox):
    cases = [
        ({"church_name": ""}, "church_name"),
        ({"church_name": "x" * 201}, "church_name"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"name": ""}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a" * 250 + "@example.org"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "1234567890"}, "password"),
    ]
    for changes, field in cases:
        response = _signup(client, **changes)
        assert response.status_code == 422, changes
        html = response.get_data(as_text=True)
        assert f'id="{field}-error"' in html, changes
        kept = {"church_name": FORM["church_name"], "name": FORM["name"], "email": FORM["email"]}
        for name, value in kept.items():
            if name not in changes:
                assert f'value="{value}"' in html, (changes, name)
        if "timezone" not in changes:
            assert '<option selected value="America/New_York">' in html
    deliver_mail()
    assert mailbox.messages() == []


def test_sign_ups_are_rate_limited_per_address_and_per_domain(client, mailbox):
    statuses = [_signup(client, email=f"p{n}@riverside.example").status_code for n in range(6)]
    assert statuses == [302] * 5 + [429]


def test_a_church_name_taken_gets_its_own_slug(client, db, mailbox):
    _signup(client, church_name="Grace Community Church")
    client.get(mailed_link(mailbox, FORM["email"], "/signup/verify/"))
    slugs = db.session.scalars(select(Church.slug).where(Church.name == "Grace Community Church")).all()
    assert sorted(slugs) == ["grace-community-church", "grace-community-church-2"]


def test_operator_cli_still_makes_churches_with_the_password_rule(app, db):
    runner = app.test_cli_runner()
    weak = runner.invoke(
        args=["create-church", "--name", "CLI Church", "--admin-email", "c@x.org", "--password", "abc"]
    )
    assert weak.exit_code != 0 and "at least 10" in weak.output
    ok = runner.invoke(
        args=["create-church", "--name", "CLI Church", "--admin-email", "c@x.org", "--password", "cli church pass"]
    )
    assert ok.exit_code == 0, ok.output
    church = db.session.scalar(select(Church).where(Church.slug == "cli-church"))
    assert church.onboarded_at is not None


def test_the_checklist_follows_the_church_and_goes_once_every_step_is_done(client, db, church, login_as):
    from sqlalchemy import delete

    from app.models import Broadcast

    # Grace has a number, members and staff; without the demo's broadcasts it has sent nothing yet.
    db.session.execute(delete(Broadcast).where(Broadcast.church_id == church.id))
    church.onboarded_at = None
    db.session.commit()
    login_as("owner")
    html = client.get("/").get_data(as_text=True)
    for step in ("verify", "number", "members", "staff"):
        assert f'id="onboarding-{step}" data-done="true"' in html, step
    assert 'id="onboarding-broadcast" data-done="false"' in html

    login_as("leader")
    assert 'id="onboarding-' not in client.get("/").get_data(as_text=True)  # for owners and admins only

    db.session.add(Broadcast(church_id=church.id, body="Welcome!", status="sent"))
    db.session.commit()
    login_as("owner")
    assert 'id="onboarding-' not in client.get("/").get_data(as_text=True)
    db.session.refresh(church)
    assert church.onboarded_at is not None
