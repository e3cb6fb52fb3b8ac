"""The per-process identity cache: a signed-in page loads its user once per TTL, and changes show at once."""

import pytest
from flask import g
from sqlalchemy import event

from app.auth import identity


@pytest.fixture
def cached_identity(app):
    app.config["IDENTITY_CACHE_SECONDS"] = 60
    identity.forget_all()
    yield
    app.config.pop("IDENTITY_CACHE_SECONDS")
    identity.forget_all()


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
    loads = len(user_queries)
    assert loads == before + 1
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
    db.session.flush()
    assert _fresh_request_user(client, "/billing").status_code == 403


def test_a_deactivated_user_is_signed_out_on_the_next_request(client, login_as, cached_identity, db):
    user = login_as("owner")
    assert _fresh_request_user(client, "/").status_code == 200
    user.active = False
    db.session.flush()
    assert _fresh_request_user(client, "/").status_code == 302


def test_a_change_committed_elsewhere_is_seen_on_the_next_request(client, login_as, cached_identity, user_queries):
    from app.extensions import rds

    login_as("owner")
    _fresh_request_user(client)
    loads = len(user_queries)
    _fresh_request_user(client)
    assert len(user_queries) == loads  # cached
    rds.client.incr(identity.EPOCH_KEY)  # what another process's commit of a user or church does
    _fresh_request_user(client)
    assert len(user_queries) == loads + 1


def test_committing_a_church_change_moves_the_epoch(db, church, cached_identity):
    from app.extensions import rds

    before = int(rds.client.get(identity.EPOCH_KEY) or 0)
    church.help_text = "Text us any time."
    db.session.commit()
    assert int(rds.client.get(identity.EPOCH_KEY) or 0) == before + 1
    church.help_text = "Something else."
    db.session.flush()
    db.session.rollback()
    assert int(rds.client.get(identity.EPOCH_KEY) or 0) == before + 1  # a rolled-back change publishes nothing
