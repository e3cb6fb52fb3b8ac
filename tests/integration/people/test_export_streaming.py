"""The member export streams on a connection of its own, one download per user at a time."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import text


@pytest.fixture
def pooled(app, db):
    """The app on its real engine and pool for one test (it reads the committed demo data).

    What it commits (the sign-ins' session rows and the exports' audit rows) is removed after it,
    so later tests find the demo data as seeded.
    """
    engines = db._app_engines[app]
    bound = engines[None]
    engines[None] = bound.engine
    db.session.remove()
    try:
        yield bound.engine
    finally:
        db.session.remove()
        with bound.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log WHERE action = 'members.exported'"))
            conn.execute(text("DELETE FROM user_sessions WHERE user_agent = 'pytest'"))
        engines[None] = bound


def _rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode())))


def test_export_holds_no_pool_connection_while_it_streams(client, db, login_as, pooled):
    """A slow download must not keep one of the request pool's connections until it ends."""
    login_as("owner")
    db.session.remove()
    before = pooled.pool.checkedout()  # the test harness's own connection
    response = client.get("/members/export.csv", buffered=False)
    assert response.status_code == 200
    body = iter(response.response)
    first = next(body)
    assert first.startswith(b"first_name,last_name,phone")
    assert pooled.pool.checkedout() == before
    rows = _rows(first + b"".join(body))
    response.close()
    assert rows and all(r["phone"].startswith("+") for r in rows)
    assert pooled.pool.checkedout() == before


def test_a_second_export_by_the_same_user_waits_for_the_first(client, login_as, pooled):
    """429 while the user's download runs; another admin exports meanwhile; leaving the first frees it."""
    login_as("owner")
    running = client.get("/members/export.csv", buffered=False)
    next(iter(running.response))

    again = client.get("/members/export.csv")
    assert again.status_code == 429 and again.headers["Retry-After"]
    page = again.get_data(as_text=True)
    assert "An export is already running" in page and "still downloading" in page

    login_as("hope")
    other = client.get("/members/export.csv")
    assert other.status_code == 200 and _rows(other.get_data())

    login_as("owner")
    assert client.get("/members/export.csv").status_code == 429
    running.close()  # the client went away mid-download
    assert client.get("/members/export.csv").status_code == 200


def test_an_export_never_started_releases_its_lock(client, login_as, pooled):
    """A client that leaves before the first byte leaves nothing locked."""
    login_as("owner")
    client.get("/members/export.csv", buffered=False).close()
    assert client.get("/members/export.csv").status_code == 200
