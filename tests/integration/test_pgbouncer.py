"""Koinonia behind a real PgBouncer in transaction mode (scripts/test.sh starts one).

In transaction mode each transaction may run on another server connection, so nothing may rely
on session state: no statement psycopg prepared on the server (DATABASE_POOLER=pgbouncer turns
them off), no SET outside a transaction, no advisory locks, no LISTEN.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from app import config as app_config
from app import create_app
from app.config import Config
from tests.conftest import make_app, run_slot

SEARCH = "SELECT count(*) FROM pg_class WHERE relname <> %s"


def _bouncer_url(db_name: str) -> str:
    base = os.environ.get("TEST_PGBOUNCER_URL")
    if not base:
        pytest.skip("no TEST_PGBOUNCER_URL: make test starts PgBouncer unless TEST_DATABASE_URL is given")
    return urlunsplit(urlsplit(base)._replace(path=f"/{db_name}"))


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _hold_last_server_connection(url: str) -> psycopg.Connection:
    """A client inside an open transaction: PgBouncer hands it the server connection used last,
    so the next transaction of anyone else runs on another one."""
    holder = psycopg.connect(_plain(url))
    holder.execute("SELECT 1")
    return holder


def _search_twice_across_server_connections(url: str, **connect_args) -> None:
    with psycopg.connect(_plain(url), autocommit=True, **connect_args) as conn:
        conn.execute(SEARCH, ("x",))  # prepared on this server connection when the threshold allows
        holder = _hold_last_server_connection(url)
        try:
            conn.execute(SEARCH, ("y",))
        finally:
            holder.close()


def test_server_side_prepares_break_under_transaction_pooling(app):
    url = _bouncer_url(urlsplit(app.config["SQLALCHEMY_DATABASE_URI"]).path.lstrip("/"))
    with pytest.raises(psycopg.errors.InvalidSqlStatementName):
        _search_twice_across_server_connections(url, prepare_threshold=0)
    _search_twice_across_server_connections(url, prepare_threshold=None)


def test_the_pooler_setting_turns_server_side_prepares_off():
    env = {"SECRET_KEY": "x" * 40, "DATABASE_URL": "postgresql://h/db", "REDIS_URL": "redis://h"}
    env["KOINONIA_ENV"] = "test"
    assert "connect_args" not in Config(env).SQLALCHEMY_ENGINE_OPTIONS
    options = Config(env | {"DATABASE_POOLER": "pgbouncer"}).SQLALCHEMY_ENGINE_OPTIONS
    assert options["connect_args"]["prepare_threshold"] is None
    assert options["pool_size"] == Config.SQLALCHEMY_ENGINE_OPTIONS["pool_size"]


@pytest.fixture(scope="module")
def pooled_app():
    """The app on its own seeded database, reached only through PgBouncer."""
    active = os.environ.get("TEST_DATABASE_URL_ACTIVE")
    name = f"koinonia_test_pgbouncer_{run_slot()}"
    url = _bouncer_url(name)
    direct = make_app(name)  # migrations run on a direct connection, as a deploy does
    with direct.app_context():
        direct.extensions["sqlalchemy"].engine.dispose()
    if active:
        os.environ["TEST_DATABASE_URL_ACTIVE"] = active

    class Pooled(app_config.TestConfig):
        def settings(self, environ):
            return super().settings(dict(environ, TEST_DATABASE_URL=url, DATABASE_POOLER="pgbouncer"))

    pooled = create_app(Pooled)
    yield pooled
    with pooled.app_context():
        pooled.extensions["sqlalchemy"].engine.dispose()


def test_the_app_works_through_pgbouncer(pooled_app):
    url = pooled_app.config["SQLALCHEMY_DATABASE_URI"]
    client = pooled_app.test_client()
    with pooled_app.app_context():
        from app.extensions import rds

        rds.client.flushdb()  # the sign-in throttle starts from nothing
    response = client.post("/login", data={"email": "admin@example.org", "password": "koinonia-demo"})
    assert response.status_code == 302, response.data[:500]
    for round_ in range(2):
        # More runs than psycopg's prepare threshold (5), then again on another server connection.
        for _ in range(8):
            assert client.get("/members?q=Grace").status_code == 200
        holder = _hold_last_server_connection(url) if round_ == 0 else None
        try:
            assert client.get("/members?q=Grace").status_code == 200
            assert client.get("/members/count?q=Grace").status_code == 200
        finally:
            if holder:
                holder.close()
    form = {"first_name": "Pooled", "last_name": "Bouncerson", "phone": "312 555 0177", "language": "en"}
    created = client.post("/members/new", data={**form, "branch_id": "0"})
    assert created.status_code == 302, created.data[:500]
    assert b"Bouncerson" in client.get("/members?q=Bouncerson").data
    for page in ("/", "/inbox"):
        assert client.get(page).status_code == 200, page
    export = client.get("/members/export.csv")
    assert export.status_code == 200
    assert b"Bouncerson" in export.data


def test_a_worker_loop_that_commits_survives_transaction_pooling(pooled_app):
    """A job committing batch after batch (as the send loop does) keeps psycopg's prepared
    statements across transactions: behind PgBouncer they must never be made."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Member

    url = pooled_app.config["SQLALCHEMY_DATABASE_URI"]
    count = select(func.count(Member.id)).where(Member.church_id > 0)
    with pooled_app.app_context():
        for _ in range(7):  # past psycopg's default threshold of 5
            db.session.scalar(count)
            db.session.commit()
        holder = _hold_last_server_connection(url)
        try:
            assert db.session.scalar(count) > 0
            db.session.commit()
        finally:
            holder.close()
            db.session.remove()
