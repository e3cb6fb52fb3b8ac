"""Staff invitations: mailed one-time links (7 days) that make an account with a role and groups."""

from __future__ import annotations

import re

import pytest
from flask import g
from sqlalchemy import select, text

from app.accounts import onboarding
from app.auth.services import find_user_by_email
from app.models import AccountToken, Group, GroupLeader
from tests.conftest import deliver_mail
from tests.factories import ChurchFactory, UserFactory
from tests.integration.accounts.conftest import mailed_link

NEW = "new.leader@example.org"
PASSWORD = "a song in the night"


def _group(db, church, name: str) -> int:
    return db.session.scalar(select(Group.id).where(Group.church_id == church.id, Group.name == name))


def _invite(client, email=NEW, role="leader", groups=()):
    return client.post("/settings/staff/invite", data={"email": email, "role": role, "groups": list(groups)})


def _fresh(client, path, method="get", **kwargs):
    """A request as a separate browser would make it (nobody remembered from the last one)."""
    g.pop("_login_user", None)
    return getattr(client, method)(path, **kwargs)


def _accept(client, path, name="Nia Leader", password=PASSWORD, confirm=None):
    data = {"name": name, "password": password, "confirm": confirm or password}
    return _fresh(client, path, "post", data=data)


def test_the_role_choice_is_admin_or_leader(client, login_as):
    login_as("owner")
    html = client.get("/settings/staff").get_data(as_text=True)
    select_html = re.search(r'<select[^>]*id="role"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'value="([^"]*)"', select_html) == ["admin", "leader"]


def test_invite_mail_accept_and_be_signed_in_with_the_role_and_groups(app, client, db, church, login_as, mailbox):
    login_as("owner")
    youth, worship = _group(db, church, "Youth"), _group(db, church, "Worship Team")
    response = _invite(client, groups=[youth, worship])
    assert response.status_code == 302
    page = client.get("/settings/staff").get_data(as_text=True)
    assert "Invitation sent to new.leader@example.org" in page
    pending = page.split('id="invitations"')[1]
    assert NEW in pending and "Pastor Ade" in pending and "Leader" in pending

    path = mailed_link(mailbox, NEW, "/invite/")
    mail = mailbox.messages(NEW)[-1]
    assert mail["subject"] == "Pastor Ade invited you to Grace Community Church on Koinonia"
    assert f"{app.config['APP_BASE_URL']}{path}" in mail["text"]
    assert "a leader" in mail["text"] and "7 days" in mail["text"]
    assert f'href="{app.config["APP_BASE_URL"]}{path}"' in mail["html"]

    browser = app.test_client()
    with browser.session_transaction() as before:
        before["left_by_someone_else"] = "x"
    form = _fresh(browser, path)
    assert form.status_code == 200
    assert 'type="password"' in form.get_data(as_text=True) and NEW in form.get_data(as_text=True)
    accepted = _accept(browser, path)
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/"

    user = find_user_by_email(NEW)
    assert (user.church_id, user.role, user.name, user.active) == (church.id, "leader", "Nia Leader", True)
    assert user.email_verified_at is not None and user.last_login_at is not None
    led = set(db.session.scalars(select(GroupLeader.group_id).where(GroupLeader.user_id == user.id)))
    assert led == {youth, worship}
    with browser.session_transaction() as after:  # a fresh session, as at sign-in
        assert "left_by_someone_else" not in after
    dashboard = _fresh(browser, "/")
    assert dashboard.status_code == 200
    assert NEW in dashboard.get_data(as_text=True) and "Welcome to Grace Community Church" in dashboard.get_data(
        as_text=True
    )
    assert _fresh(browser, "/settings/staff").status_code == 403  # signed in as a leader
    staff_page = _fresh(client, "/settings/staff").get_data(as_text=True)
    assert "No invitations waiting" in staff_page
    assert f'id="staff-{user.id}" data-role="leader"' in staff_page and "leads Worship Team, Youth" in staff_page


def test_an_admin_invitation_makes_an_admin_without_groups(app, client, db, church, login_as, mailbox):
    login_as("owner")
    _invite(client, email="new.admin@example.org", role="admin", groups=[_group(db, church, "Youth")])
    path = mailed_link(mailbox, "new.admin@example.org", "/invite/")
    _accept(app.test_client(), path)
    user = find_user_by_email("new.admin@example.org")
    assert user.role == "admin"
    assert db.session.scalar(select(GroupLeader.group_id).where(GroupLeader.user_id == user.id)) is None


def test_a_used_link_answers_410_with_no_password_form(app, client, login_as, mailbox):
    login_as("owner")
    _invite(client)
    path = mailed_link(mailbox, NEW, "/invite/")
    browser = app.test_client()
    assert _accept(browser, path).status_code == 302
    for response in (_fresh(app.test_client(), path), _accept(app.test_client(), path, name="Someone Else")):
        assert response.status_code == 410
        assert 'type="password"' not in response.get_data(as_text=True)
    assert find_user_by_email(NEW).name == "Nia Leader"


def test_unknown_and_expired_links_answer_410(app, client, db, login_as, mailbox):
    assert _fresh(app.test_client(), "/invite/not-a-real-token").status_code == 410
    login_as("owner")
    _invite(client)
    path = mailed_link(mailbox, NEW, "/invite/")
    db.session.execute(text("UPDATE account_tokens SET expires_at = now() - interval '1 second'"))
    for response in (_fresh(app.test_client(), path), _accept(app.test_client(), path)):
        assert response.status_code == 410 and 'type="password"' not in response.get_data(as_text=True)
    assert find_user_by_email(NEW) is None
    assert "Expired" in _fresh(client, "/settings/staff").get_data(as_text=True)


def test_an_invitation_lasts_seven_days(client, db, login_as):
    login_as("owner")
    _invite(client)
    lifetime = db.session.scalar(
        text("SELECT expires_at - created_at FROM account_tokens WHERE purpose = 'staff_invitation'")
    )
    assert lifetime.days == 7


def test_resending_mails_a_new_link_and_kills_the_old_one(app, client, db, login_as, mailbox):
    login_as("owner")
    _invite(client)
    first = mailed_link(mailbox, NEW, "/invite/")
    invitation_id = db.session.scalar(select(AccountToken.id).where(AccountToken.email == NEW))
    assert client.post(f"/settings/staff/invitations/{invitation_id}/resend").status_code == 302
    second = mailed_link(mailbox, NEW, "/invite/")
    assert first != second and len(mailbox.messages(NEW)) == 2
    assert _fresh(app.test_client(), first).status_code == 410
    assert _fresh(app.test_client(), second).status_code == 200


def test_inviting_the_same_address_again_leaves_one_live_link(app, client, login_as, mailbox):
    login_as("owner")
    _invite(client)
    first = mailed_link(mailbox, NEW, "/invite/")
    _invite(client, role="admin")
    second = mailed_link(mailbox, NEW, "/invite/")
    assert _fresh(app.test_client(), first).status_code == 410
    _accept(app.test_client(), second)
    assert find_user_by_email(NEW).role == "admin"


def test_a_revoked_invitation_opens_nothing(app, client, db, login_as, mailbox):
    login_as("owner")
    _invite(client)
    path = mailed_link(mailbox, NEW, "/invite/")
    invitation_id = db.session.scalar(select(AccountToken.id).where(AccountToken.email == NEW))
    assert client.post(f"/settings/staff/invitations/{invitation_id}/revoke").status_code == 302
    assert _fresh(app.test_client(), path).status_code == 410
    assert "No invitations waiting" in _fresh(client, "/settings/staff").get_data(as_text=True)
    assert client.post(f"/settings/staff/invitations/{invitation_id}/resend").status_code == 404


def test_an_address_with_an_account_elsewhere_is_told_by_mail_and_the_inviter_learns_nothing(
    client, db, login_as, mailbox
):
    login_as("owner")
    elsewhere = _invite(client, email="admin@hope.example.org")
    nobody = _invite(client, email="nobody.yet@example.org")
    assert elsewhere.status_code == nobody.status_code == 302
    assert elsewhere.headers["Location"] == nobody.headers["Location"]
    deliver_mail()
    note = mailbox.messages("admin@hope.example.org")
    assert len(note) == 1 and "already has an account" in note[0]["text"] and "/invite/" not in note[0]["text"]
    assert db.session.scalar(select(AccountToken.id).where(AccountToken.email == "admin@hope.example.org")) is None
    assert find_user_by_email("admin@hope.example.org").church.slug == "hope-chapel"


def test_someone_already_on_the_staff_is_named_by_the_field(client, login_as, mailbox):
    login_as("owner")
    response = _invite(client, email="LEADER@example.org")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="email-error"' in html and "already on your staff" in html and 'value="LEADER@example.org"' in html


@pytest.mark.parametrize(
    ("data", "error_id"),
    [
        ({"email": "not-an-address", "role": "leader"}, "email-error"),
        ({"email": NEW, "role": "owner"}, "role-error"),
        ({"email": "x" * 250 + "@example.org", "role": "leader"}, "email-error"),
    ],
)
def test_bad_invitations_are_refused_by_the_field(client, db, login_as, mailbox, data, error_id):
    login_as("owner")
    response = client.post("/settings/staff/invite", data=data)
    assert response.status_code == 422 and f'id="{error_id}"' in response.get_data(as_text=True)
    assert db.session.scalar(select(AccountToken.id).where(AccountToken.purpose == "staff_invitation")) is None


def test_another_churchs_groups_cannot_be_given(client, db, other_church, login_as, mailbox):
    login_as("owner")
    response = _invite(client, groups=[_group(db, other_church, "Prayer Team")])
    assert response.status_code == 422 and 'id="groups-error"' in response.get_data(as_text=True)


def test_the_accept_form_keeps_the_password_rules(app, client, login_as, mailbox):
    login_as("owner")
    _invite(client)
    path = mailed_link(mailbox, NEW, "/invite/")
    browser = app.test_client()
    for data, error_id in (
        ({"password": "short"}, "password-error"),
        ({"password": "qwertyuiop"}, "password-error"),
        ({"password": PASSWORD, "confirm": PASSWORD + "!"}, "confirm-error"),
        ({"name": "", "password": PASSWORD}, "name-error"),
    ):
        response = _accept(browser, path, **data)
        assert response.status_code == 422, data
        html = response.get_data(as_text=True)
        assert f'id="{error_id}"' in html
    assert find_user_by_email(NEW) is None
    assert _accept(browser, path).status_code == 302


def test_invitations_per_church_are_rate_limited(client, login_as, mailbox):
    login_as("owner")
    for i in range(20):
        assert _invite(client, email=f"person{i}@example.org").status_code == 302
    refused = _invite(client, email="one.more@example.org")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    login_as("admin")  # another admin of the same church shares the allowance
    assert _invite(client, email="one.more@example.org").status_code == 429
    login_as("hope")  # another church has its own
    assert _invite(client, email="one.more@example.org").status_code == 302


def test_leaders_get_403(client, db, login_as):
    login_as("leader")
    assert client.get("/settings/staff").status_code == 403
    assert _invite(client).status_code == 403
    assert db.session.scalar(select(AccountToken.id).where(AccountToken.purpose == "staff_invitation")) is None


def test_the_onboarding_step_links_to_staff_and_is_done_once_someone_accepts(app, client, db, login_as, mailbox):
    church = ChurchFactory()
    owner = UserFactory(church_id=church.id, role="owner", email="solo.owner@example.org")
    login_as(owner.email)
    with app.test_request_context():
        step = next(s for s in onboarding.checklist(owner) if s.key == "staff")
        assert (step.url, step.done) == ("/settings/staff", False)
    _invite(client, email="first.staff@example.org")
    path = mailed_link(mailbox, "first.staff@example.org", "/invite/")
    _accept(app.test_client(), path)
    with app.test_request_context():
        step = next(s for s in onboarding.checklist(owner) if s.key == "staff")
        assert step.done


def test_an_address_that_got_an_account_meanwhile_is_sent_to_sign_in(app, client, db, other_church, login_as, mailbox):
    login_as("owner")
    _invite(client)
    path = mailed_link(mailbox, NEW, "/invite/")
    UserFactory(church_id=other_church.id, role="admin", email=NEW)
    db.session.commit()  # the refused acceptance rolls back: keep the account made here
    response = _accept(app.test_client(), path)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert find_user_by_email(NEW).church_id == other_church.id


def test_every_staff_form_carries_a_csrf_token_and_posts_without_one_are_refused(app, client, db, login_as, mailbox):
    login_as("owner")
    _invite(client)
    path = mailed_link(mailbox, NEW, "/invite/")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        html = _fresh(client, "/settings/staff").get_data(as_text=True)
        forms = re.findall(r'<form method="post".*?</form>', html, re.S)
        assert len(forms) >= 5 and all('name="csrf_token"' in f for f in forms)
        assert _fresh(client, "/settings/staff/invite", "post", data={"email": "x@example.org"}).status_code == 400
        assert _accept(app.test_client(), path).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert find_user_by_email(NEW) is None


def test_an_undeliverable_invitation_is_the_churchs_to_see_and_the_note_to_another_churchs_user_is_not(
    client, church, login_as, mailbox
):
    from app.extensions import rds
    from app.mail import QUEUE

    login_as("owner")
    _invite(client)
    _invite(client, email="admin@hope.example.org")
    queued = {job.args[0]["template"]: job.args[0]["church_id"] for job in rds.queue(QUEUE).jobs}
    assert queued == {"invitation": church.id, "invitation_existing": None}


def test_inviting_revoking_and_joining_are_in_the_audit_log(app, client, db, church, login_as, mailbox):
    from app.models import AuditLog

    login_as("owner")
    assert _invite(client, role="admin").status_code == 302
    elsewhere = ChurchFactory()
    UserFactory(church=elsewhere, email="taken@example.net")
    db.session.commit()
    assert _invite(client, email="taken@example.net", role="admin").status_code == 302
    pending = select(AccountToken).where(AccountToken.email == NEW, AccountToken.used_at.is_(None))
    invitation = db.session.scalar(pending)
    assert client.post(f"/settings/staff/invitations/{invitation.id}/revoke").status_code == 302
    rows = db.session.execute(
        select(AuditLog.action, AuditLog.detail).where(AuditLog.church_id == church.id).order_by(AuditLog.id)
    ).all()
    invited = [detail for action, detail in rows if action == "staff.invited"]
    # An address with an account elsewhere is logged exactly like any other: the log does not tell.
    assert len(invited) == 2 and {d["role"] for d in invited} == {"admin"}
    assert "staff.invitation_revoked" in [action for action, _ in rows]
