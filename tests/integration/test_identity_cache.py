"""The remembered identity: a signed-in page loads its user once, and a committed change shows at once."""

import pytest
from flask import g
from sqlalchemy import event

from app import cache


@pytest.fixture
def cached_identity(app):
    """A process that has not remembered anyone yet."""
    cache.forget_local()
    yield
    cache.forget_local()


@pytest.fixture
def user_queries(db):
    """SELECTs against users run during a block of requests."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "FROM users" in statement:
            seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def _fresh_request_user(client, path="/no-such-page"):
    g.pop("_login_user", None)  # the test shares one app context; a real request starts without it
    return client.get(path)


def test_a_cached_user_is_not_loaded_again(client, login_as, cached_identity, user_queries):
    login_as("owner")
    before = len(user_queries)
    first = _fresh_request_user(client)
    assert first.status_code == 404
    assert b"Grace Community Church" in first.data
    assert len(user_queries) == before + 1
    _fresh_request_user(client)  # the church is known now: remembered from here on
    loads = len(user_queries)
    for _ in range(3):
        page = _fresh_request_user(client)
        assert b"Grace Community Church" in page.data
    assert len(user_queries) == loads


def test_the_cached_user_is_a_working_session_object(client, login_as, cached_identity, db):
    user = login_as("owner")
    _fresh_request_user(client)
    db.session.expunge_all()
    assert _fresh_request_user(client, "/").status_code == 200
    loaded = g._login_user
    assert loaded in db.session  # merged into this request's session, not the cache's copy
    assert loaded.id == user.id and loaded.church.slug == "grace-community-church"


def test_a_role_change_in_this_process_applies_to_the_next_request(client, login_as, cached_identity, db):
    user = login_as("owner")
    assert _fresh_request_user(client, "/billing").status_code == 200
    user.role = "leader"
    db.session.commit()
    assert _fresh_request_user(client, "/billing").status_code == 302  # the change ended the session
    login_as(user.email)
    assert _fresh_request_user(client, "/billing").status_code == 403


def test_a_deactivated_user_is_signed_out_on_the_next_request(client, login_as, cached_identity, db):
    user = login_as("owner")
    assert _fresh_request_user(client, "/").status_code == 200
    user.active = False
    db.session.commit()
    assert _fresh_request_user(client, "/").status_code == 302


def test_a_change_committed_elsewhere_is_seen_on_the_next_request(
    client, church, login_as, cached_identity, user_queries
):
    login_as("owner")
    _fresh_request_user(client)
    _fresh_request_user(client)
    loads = len(user_queries)
    _fresh_request_user(client)
    assert len(user_queries) == loads  # remembered
    cache.publish([("church", church.id)])  # what another process's commit of the church does
    _fresh_request_user(client)
    assert len(user_queries) == loads + 1


def test_committing_a_church_change_moves_its_version(db, church, cached_identity):
    before = cache.version(("church", church.id))
    church.help_text = "Text us any time."
    db.session.commit()
    assert cache.version(("church", church.id)) == before + 1
    church.help_text = "Something else."
    db.session.flush()
    db.session.rollback()
    assert cache.version(("church", church.id)) == before + 1  # a rolled-back change publishes nothing
