"""Test harness: real PostgreSQL and Redis (started by `make test`), migrated once per session.

Each test runs inside a transaction that is rolled back at the end, so tests see the
seeded demo churches and never see each other's rows. Browser tests use their own
database (tests/e2e/conftest.py), because a live server needs committed data.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from flask import g
from sqlalchemy import select

from app import create_app
from app.config import TestConfig
from app.extensions import db as _db
from app.extensions import rds


def _require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the suite with `make test` (it starts PostgreSQL and Redis)", 2)
    return value


def database_url(name: str) -> str:
    """TEST_DATABASE_URL pointed at another database on the same server."""
    parts = urlsplit(_require_env("TEST_DATABASE_URL"))
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(name: str) -> str:
    """Drop and create a database on the test server; return its SQLAlchemy URL."""
    admin = _require_env("TEST_DATABASE_URL").replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(name)


def run_slot() -> str:
    """Names this run's databases, so that parallel runs on one server keep apart (TEST_SLOT)."""
    return os.environ.get("TEST_SLOT") or os.environ.get("PYTEST_XDIST_WORKER") or "main"


def make_app(db_name: str):
    """An app bound to `db_name`, migrated to head and seeded with the demo data."""
    from flask_migrate import upgrade

    url = recreate_database(db_name)
    os.environ["TEST_DATABASE_URL_ACTIVE"] = url

    class Config(TestConfig):
        def settings(self, environ):
            env = dict(environ)
            env["TEST_DATABASE_URL"] = url
            return super().settings(env)

    app = create_app(Config)
    with app.app_context():
        upgrade()
        from app.seed import seed_demo

        seed_demo(60)
        _db.session.commit()
    return app


@pytest.fixture(scope="session")
def app():
    """The application, on a freshly migrated and seeded test database."""
    _require_env("TEST_REDIS_URL")
    application = make_app(f"koinonia_test_{run_slot()}")
    yield application
    with application.app_context():
        _db.engine.dispose()


@pytest.fixture
def db(app):
    """The database session, inside a transaction rolled back after the test."""
    with app.app_context():
        engines = _db._app_engines[app]
        engine = engines[None]
        connection = engine.connect()
        outer = connection.begin()
        engines[None] = connection  # every session bind now goes through this connection
        _db.session.remove()
        _db.session.configure(join_transaction_mode="create_savepoint")
        rds.client.flushdb()
        try:
            yield _db
        finally:
            _db.session.remove()
            engines[None] = engine
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def church(db):
    """Grace Community Church, the demo tenant most tests act in."""
    from app.models import Church

    return db.session.scalar(select(Church).where(Church.slug == "grace-community-church"))


@pytest.fixture
def other_church(db):
    """Hope Chapel, the second tenant that proves isolation."""
    from app.models import Church

    return db.session.scalar(select(Church).where(Church.slug == "hope-chapel"))


@pytest.fixture
def no_demo_history(db):
    """The demo churches before anything was sent: no broadcasts, their recipients, the replies
    they drew or the usage they counted (the seed's recent conversations stay)."""
    from sqlalchemy import text

    for statement in (
        "DELETE FROM conversation_messages WHERE broadcast_id IS NOT NULL",
        "DELETE FROM conversations c WHERE NOT EXISTS (SELECT 1 FROM conversation_messages m "
        "WHERE m.conversation_id = c.id)",
        "DELETE FROM broadcasts",
        "DELETE FROM usage_periods",
    ):
        db.session.execute(text(statement))
    db.session.flush()


@pytest.fixture
def login_as(client, db, church):
    """Sign the test client in as a user of the given role (owner, admin, leader) or email."""
    from app.auth import sessions
    from app.auth.services import find_user_by_email
    from tests.factories import UserFactory

    demo = {"owner": "admin@example.org", "leader": "leader@example.org", "hope": "admin@hope.example.org"}

    def _login(role_or_email: str = "owner"):
        email = demo.get(role_or_email, role_or_email)
        user = find_user_by_email(email) if "@" in email else None
        if user is None:
            user = UserFactory(church_id=church.id, role=role_or_email, email=f"{role_or_email}.user@example.org")
        # A session row as a sign-in starts one, committed (a savepoint here) so the cache hears of it.
        key = sessions.start(user, "pytest", "127.0.0.1")
        db.session.commit()
        with client.session_transaction() as session:
            session["_user_id"] = sessions.token_for(user, key)
            session["_fresh"] = True
        # Requests share the test's app context, where Flask-Login keeps the user it loaded:
        # drop it so the next request signs in as this user, even after another login_as.
        g.pop("_login_user", None)
        return user

    return _login


@pytest.fixture(scope="session")
def mail_sink():
    """A real SMTP server on loopback that keeps what it is sent (app.delivery.simmail)."""
    from app.delivery.simmail import MailSink

    with MailSink() as sink:
        yield sink


@pytest.fixture
def mailbox(app, db, mail_sink):
    """The sink, emptied, with the app's SMTP_URL pointed at it (deliver_mail() runs the mail jobs)."""
    previous = app.config.get("SMTP_URL")
    app.config["SMTP_URL"] = mail_sink.url
    mail_sink.clear()
    yield mail_sink
    app.config["SMTP_URL"] = previous


def deliver_mail() -> None:
    """Run the queued mail jobs (and their retries) in this process, as a worker would."""
    from rq import SimpleWorker

    from app.mail import QUEUE

    SimpleWorker([rds.queue(QUEUE)], connection=rds.client).work(burst=True)
