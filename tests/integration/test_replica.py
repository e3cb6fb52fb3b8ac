"""Read-only views on a real streaming replica (scripts/test.sh starts it with pg_basebackup -R).

Each test's rows live in its rolled-back transaction on the primary, which the replica never
sees: a view that does not show a member added in the test read the replica; one that does read
the primary.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from app.replicas import replica_for
from tests.factories import MemberFactory


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _replica_url(app) -> str:
    base = os.environ.get("TEST_DATABASE_REPLICA_URL")
    if not base:
        pytest.skip(
            "TEST_DATABASE_REPLICA_URL is not set (make test starts a replica unless TEST_DATABASE_URL is given)"
        )
    name = urlsplit(app.config["SQLALCHEMY_DATABASE_URI"]).path
    return urlunsplit(urlsplit(base)._replace(path=name))


def _caught_up(primary: str, replica: str, timeout: float = 30) -> None:
    """Wait until the replica has replayed everything the primary committed so far."""
    with psycopg.connect(primary, autocommit=True) as conn:
        target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout
    with psycopg.connect(replica, autocommit=True) as conn:
        while time.monotonic() < deadline:
            behind = conn.execute("SELECT pg_wal_lsn_diff(%s, pg_last_wal_replay_lsn()) > 0", (target,)).fetchone()[0]
            if not behind:
                return
            time.sleep(0.05)
    raise AssertionError("the replica did not catch up with the primary")


@pytest.fixture
def replica(app, db):
    url = _replica_url(app)
    _caught_up(_plain(app.config["SQLALCHEMY_DATABASE_URI"]), _plain(url))
    router = replica_for(app)
    router.configure(url)
    yield router
    router.configure(None)


@pytest.fixture
def newcomer(db, church):
    member = MemberFactory(church_id=church.id, first_name="Zebedee", last_name="Replicaton")
    db.session.commit()  # a savepoint: visible to the primary's connection only
    return member


def _lists_newcomer(client) -> bool:
    response = client.get("/members?q=Replicaton")
    assert response.status_code == 200
    return b"Zebedee" in response.data


def test_member_search_reads_the_replica_until_the_user_writes(client, login_as, replica, newcomer):
    login_as("owner")
    assert not _lists_newcomer(client), "the search should have read the replica"
    # Any write (even a refused form) keeps its author on the primary for a while.
    client.post("/members/new", data={"first_name": ""})
    assert _lists_newcomer(client), "after a write, its author reads the primary"


def test_without_a_replica_everything_reads_the_primary(client, login_as, newcomer):
    login_as("owner")
    assert _lists_newcomer(client)


def test_health_reports_the_replica_lag(client, replica):
    checks = client.get("/health/ready").get_json()["checks"]
    assert checks["replica"]["status"] == "ok"
    assert checks["replica"]["replica"]["serving_reads"] is True
    assert checks["replica"]["replica"]["lag_seconds"] >= 0


def test_an_unreachable_replica_sends_reads_to_the_primary(app, client, login_as, replica, newcomer):
    replica.configure(_replica_url(app).replace(str(urlsplit(_replica_url(app)).port), "1"))
    login_as("owner")
    assert _lists_newcomer(client)
    checks = client.get("/health/ready")
    assert checks.status_code == 200  # a replica down is reported, not fatal
    assert checks.get_json()["checks"]["replica"]["status"] == "degraded"


def test_a_lagging_replica_sends_reads_to_the_primary(app, client, login_as, replica, newcomer):
    replica_url, primary_url = _plain(replica.url), _plain(app.config["SQLALCHEMY_DATABASE_URI"])
    with psycopg.connect(replica_url, autocommit=True) as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            # A pause takes effect at the replica's next record: commit until one is received and
            # left unreplayed.
            deadline = time.monotonic() + 30
            with psycopg.connect(primary_url, autocommit=True) as primary:
                while not standby.execute("SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()").fetchone()[0]:
                    assert time.monotonic() < deadline, "the replica never held back a commit"
                    primary.execute("SELECT txid_current()")  # a commit to receive
                    time.sleep(0.05)
            # Received, not replayed: any lag at all is past a threshold of zero.
            app.config["REPLICA_MAX_LAG_SECONDS"] = 0
            replica.status(fresh=True)
            login_as("owner")
            assert _lists_newcomer(client)
            checks = client.get("/health/ready").get_json()["checks"]["replica"]
            assert checks["status"] == "degraded"
            assert checks["replica"]["lag_seconds"] > 0
        finally:
            app.config["REPLICA_MAX_LAG_SECONDS"] = 5
            standby.execute("SELECT pg_wal_replay_resume()")
