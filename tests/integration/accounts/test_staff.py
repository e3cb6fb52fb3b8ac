"""The staff page: roles, deactivation, the last owner, handing ownership on, and who may do it."""

from __future__ import annotations

import re
import threading
import uuid

import pytest
from flask import g
from sqlalchemy import select, text

from app.accounts import staff
from app.auth.services import authenticate, find_user_by_email, hash_password
from app.errors import AppError
from app.extensions import db as _db
from app.models import AuditLog, Church, User
from tests.factories import UserFactory

PASSWORD = "koinonia-demo"


def _fresh(client, path, method="get", **kwargs):
    g.pop("_login_user", None)
    return getattr(client, method)(path, **kwargs)


def _signed_in(app, email: str, password: str = PASSWORD):
    """A separate browser signed in through the form."""
    browser = app.test_client()
    assert _fresh(browser, "/login", "post", data={"email": email, "password": password}).status_code == 302
    return browser


def _row(html: str, user: User) -> str:
    return html.split(f'id="staff-{user.id}"')[1].split("</tr>")[0]


def test_the_page_lists_role_last_sign_in_and_two_factor(client, login_as):
    owner = login_as("owner")
    leader = find_user_by_email("leader@example.org")
    html = client.get("/settings/staff").get_data(as_text=True)
    assert html.index(f'id="staff-{owner.id}"') < html.index(f'id="staff-{leader.id}"')  # owners first
    row = _row(html, leader)
    assert "Rachel (Youth)" in row and "leader@example.org" in row and "leads Youth" in row
    assert "<td>Leader" in row and "Never" in row and "<td>Off</td>" in row


def test_the_two_factor_column_reads_the_users_setting():
    assert staff.two_factor_label(User(role="admin", two_factor_enabled=False)) == "Off"
    assert staff.two_factor_label(User(role="admin", two_factor_enabled=True)) == "On"


def test_changing_a_role_takes_effect_and_ends_their_sessions(app, client, db, login_as):
    leader = find_user_by_email("leader@example.org")
    their_browser = _signed_in(app, leader.email)
    login_as("owner")
    response = _fresh(client, f"/settings/staff/{leader.id}/role", "post", data={"role": "admin"})
    assert response.status_code == 302
    assert db.session.scalar(select(User.role).where(User.id == leader.id)) == "admin"
    assert _fresh(their_browser, "/").status_code == 302  # signed out
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.target_id == leader.id)).all()
    assert "staff.role_changed" in actions


def test_nobody_is_made_owner_by_a_role_change(client, db, login_as):
    leader = find_user_by_email("leader@example.org")
    login_as("owner")
    response = client.post(f"/settings/staff/{leader.id}/role", data={"role": "owner"})
    assert response.status_code == 422
    assert db.session.scalar(select(User.role).where(User.id == leader.id)) == "leader"


def test_deactivation_signs_out_and_locks_out_until_reactivated(app, client, db, login_as):
    leader = find_user_by_email("leader@example.org")
    their_browser = _signed_in(app, leader.email)
    login_as("owner")
    assert _fresh(client, f"/settings/staff/{leader.id}/deactivate", "post").status_code == 302
    assert _fresh(their_browser, "/").status_code == 302
    assert authenticate(leader.email, PASSWORD) is None
    assert 'data-active="false"' in _row(_fresh(client, "/settings/staff").get_data(as_text=True), leader)
    assert _fresh(client, f"/settings/staff/{leader.id}/reactivate", "post").status_code == 302
    assert authenticate(leader.email, PASSWORD) is not None


def test_the_last_owner_cannot_be_demoted_or_deactivated(client, db, login_as):
    owner = login_as("owner")
    demoted = client.post(f"/settings/staff/{owner.id}/role", data={"role": "admin"})
    assert demoted.status_code == 409 and "only owner" in demoted.get_data(as_text=True)
    assert client.post(f"/settings/staff/{owner.id}/deactivate").status_code == 409
    assert db.session.scalar(select(User.role).where(User.id == owner.id)) == "owner"
    # Nor by the service called directly: the rule is not only in the page.
    with pytest.raises(staff.LastOwner):
        staff.change_role(owner, owner.id, "leader")


def test_with_two_owners_one_may_step_down_but_not_both(client, db, church, login_as):
    owner = find_user_by_email("admin@example.org")
    second = UserFactory(church_id=church.id, role="owner", email="second.owner@example.org")
    login_as(second.email)
    assert client.post(f"/settings/staff/{owner.id}/role", data={"role": "admin"}).status_code == 302
    assert _fresh(client, f"/settings/staff/{second.id}/role", "post", data={"role": "admin"}).status_code == 409
    assert db.session.scalar(select(User.role).where(User.id == second.id)) == "owner"


def test_admins_cannot_change_or_deactivate_the_owner(client, db, church, login_as):
    owner = find_user_by_email("admin@example.org")
    login_as("admin")
    db.session.commit()  # a refused change rolls back: keep the admin made for this test
    assert client.post(f"/settings/staff/{owner.id}/role", data={"role": "leader"}).status_code == 403
    assert client.post(f"/settings/staff/{owner.id}/deactivate").status_code == 403
    assert client.get(f"/settings/staff/{owner.id}/transfer").status_code == 403
    html = client.get("/settings/staff").get_data(as_text=True)
    assert "Make owner" not in html and "/deactivate" not in _row(html, owner)
    assert db.session.scalar(select(User.role).where(User.id == owner.id)) == "owner"


def test_nobody_deactivates_themselves(client, login_as):
    admin = login_as("admin")
    assert client.post(f"/settings/staff/{admin.id}/deactivate").status_code == 409


def test_transfer_ownership_asks_for_the_password(client, db, church, login_as):
    owner = login_as("owner")
    leader = find_user_by_email("leader@example.org")
    page = client.get(f"/settings/staff/{leader.id}/transfer")
    assert page.status_code == 200 and 'type="password"' in page.get_data(as_text=True)

    wrong = client.post(f"/settings/staff/{leader.id}/transfer", data={"password": "not my password"})
    assert wrong.status_code == 422 and 'id="password-error"' in wrong.get_data(as_text=True)
    assert db.session.scalar(select(User.role).where(User.id == leader.id)) == "leader"

    done = client.post(f"/settings/staff/{leader.id}/transfer", data={"password": PASSWORD})
    assert done.status_code == 302
    roles = dict(db.session.execute(select(User.id, User.role).where(User.id.in_([owner.id, leader.id]))).all())
    assert roles == {leader.id: "owner", owner.id: "admin"}
    # The former owner stays signed in, now as an admin.
    assert _fresh(client, "/settings/staff").status_code == 200
    assert _fresh(client, "/billing").status_code == 403


def test_only_an_active_non_owner_can_be_given_ownership(client, db, church, login_as):
    owner = login_as("owner")
    leader = find_user_by_email("leader@example.org")
    leader.active = False
    db.session.flush()
    assert client.get(f"/settings/staff/{leader.id}/transfer").status_code == 404
    assert client.get(f"/settings/staff/{owner.id}/transfer").status_code == 404


def test_leaders_get_403_on_every_staff_action(client, login_as):
    login_as("leader")
    owner = find_user_by_email("admin@example.org")
    for method, path in (
        ("get", "/settings/staff"),
        ("post", f"/settings/staff/{owner.id}/role"),
        ("post", f"/settings/staff/{owner.id}/deactivate"),
        ("post", f"/settings/staff/{owner.id}/reactivate"),
        ("get", f"/settings/staff/{owner.id}/transfer"),
    ):
        response = getattr(client, method)(path, data={"role": "leader"})
        assert response.status_code == 403, path
        assert "have access" in response.get_data(as_text=True)


def test_another_churchs_staff_and_invitations_are_not_found(client, db, login_as):
    from app.accounts import tokens

    leader = find_user_by_email("leader@example.org")
    grace_owner = find_user_by_email("admin@example.org")
    tokens.issue(tokens.INVITATION, "x@example.org", church_id=leader.church_id, payload={"role": "leader"})
    invitation_id = db.session.scalar(text("SELECT id FROM account_tokens WHERE email = 'x@example.org'"))
    login_as("hope")
    for path in (
        f"/settings/staff/{leader.id}/role",
        f"/settings/staff/{leader.id}/deactivate",
        f"/settings/staff/{grace_owner.id}/transfer",
        f"/settings/staff/invitations/{invitation_id}/resend",
        f"/settings/staff/invitations/{invitation_id}/revoke",
    ):
        assert client.post(path, data={"role": "admin", "password": PASSWORD}).status_code == 404, path
    html = client.get("/settings/staff").get_data(as_text=True)
    assert "leader@example.org" not in html and "x@example.org" not in html
    assert db.session.scalar(select(User.role).where(User.id == leader.id)) == "leader"


# --- two owners demoting each other at the same moment ------------------------------------------


@pytest.fixture
def two_owners(app):
    """A committed church with two owners (other connections must see them)."""
    suffix = uuid.uuid4().hex[:8]
    with app.app_context():
        church = Church(name=f"Race {suffix}", slug=f"race-{suffix}", timezone="UTC")
        _db.session.add(church)
        _db.session.flush()
        owners = [
            User(church_id=church.id, email=f"{n}-{suffix}@example.org", role="owner", password_hash=hash_password("x"))
            for n in ("first", "second")
        ]
        _db.session.add_all(owners)
        _db.session.commit()
        ids = church.id, [u.id for u in owners]
    try:
        yield ids
    finally:
        with app.app_context():
            _db.session.rollback()
            _db.session.execute(text("DELETE FROM churches WHERE id = :c"), {"c": ids[0]})
            _db.session.commit()


def test_two_owners_demoting_each_other_at_once_leave_one_owner(app, two_owners):
    """The first demotion holds its transaction open while the second is tried: the second must wait
    for it (the church's row lock) and then see one owner left, not count the owners as they were."""
    church_id, (first, second) = two_owners
    first_demoted, second_done = threading.Event(), threading.Event()
    outcomes: dict[str, str] = {}

    def demote(name: str, actor_id: int, target_id: int, before=None, before_commit=None) -> None:
        with app.app_context():
            try:
                if before:
                    before()
                actor = _db.session.get(User, actor_id)
                try:
                    staff.change_role(actor, target_id, "admin")
                except AppError as err:
                    _db.session.rollback()
                    outcomes[name] = type(err).__name__
                    return
                if before_commit:
                    before_commit()
                _db.session.commit()
                outcomes[name] = "done"
            finally:
                (second_done if name == "second" else first_demoted).set()
                _db.session.remove()

    def hold_open() -> None:
        first_demoted.set()
        # Without the lock the second attempt would finish now, while this one is uncommitted;
        # with it, the second waits for this commit (so this wait runs out, and then commits).
        second_done.wait(timeout=2)

    one = threading.Thread(target=demote, args=("first", first, second), kwargs={"before_commit": hold_open})
    two = threading.Thread(target=demote, args=("second", second, first), kwargs={"before": first_demoted.wait})
    one.start()
    two.start()
    one.join(timeout=30)
    two.join(timeout=30)
    assert outcomes["first"] == "done"
    assert outcomes["second"] in ("LastOwner", "PermissionDenied")
    with app.app_context():
        owners = _db.session.scalars(select(User.id).where(User.church_id == church_id, User.role == "owner")).all()
        assert owners == [first]


def test_the_staff_page_sits_under_settings(client, login_as):
    login_as("owner")
    assert "/settings/staff" in client.get("/settings").get_data(as_text=True)
    html = client.get("/settings/staff").get_data(as_text=True)
    assert re.search(r'<a[^>]*href="/settings"[^>]*aria-current="page"', html)
