"""Streamed CSV downloads: a server-side cursor on a connection of their own, one per user at a time.

A download lasts as long as the client takes to read it, so it never holds one of the request
pool's connections: the view builds the statement, gives its session back and returns; the body
opens a connection of its own, reads through a named cursor BATCH rows at a time, and closes it
when the file ends or the client goes away. One export per user and kind runs at a time (a Redis
lock). Every cell goes through app.security.csvfiles, the one CSV writer.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from itertools import chain

from flask import Response, current_app, render_template
from sqlalchemy import Connection, Engine, Select, create_engine
from sqlalchemy.pool import NullPool

from app.config import driver_connect_args
from app.extensions import db, limiter, rds, user_rate_key
from app.replicas import read_bind
from app.security import csvfiles

BATCH = 1000
# Safety net for a process that dies mid-download; a running export renews it with every chunk.
LOCK_SECONDS = 120
# Renew or release the lock only while it is still this export's (it may have expired meanwhile).
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
# One engine per database URL whose connections are opened for one export and closed after it.
_export_engines: dict[object, Engine] = {}


# A download streams a whole table through a cursor: a few a minute per person is plenty.
export_limit = limiter.limit(lambda: current_app.config["EXPORT_RATE_LIMIT"], key_func=user_rate_key)


class ExportRunning(Exception):
    """This user already has an export of this kind downloading."""


def busy_response(err: ExportRunning):
    """What a second export while one is downloading answers: 429 with the reason in words."""
    page = render_template("errors/error.html", status=429, title="An export is already running", message=str(err))
    return page, 429, {"Retry-After": "30"}


def when(value: datetime | None) -> str:
    """A stored time as ISO 8601 in UTC, to the second (empty when missing)."""
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else ""


def _export_engine(engine: Engine) -> Engine:
    """An engine on the app's database without a pool: every connect() is a connection of its own."""
    found = _export_engines.get(engine.url)
    if found is None:
        pooled = driver_connect_args(current_app.config["DATABASE_POOLER"])
        found = _export_engines[engine.url] = create_engine(engine.url, poolclass=NullPool, connect_args=pooled)
    return found


def _fetch(bind: Engine | Connection, stmt: Select) -> Iterator[tuple]:
    """The statement's rows, BATCH at a time from a server-side cursor (never all in memory).

    `bind` is an _export_engine (or the test suite's connection). The cursor lives inside the
    connection's transaction, so it also works behind PgBouncer in transaction mode."""
    if not isinstance(bind, Engine):
        # The app is bound to an open connection (the test suite's rolled-back transaction).
        yield from bind.execute(stmt.execution_options(yield_per=BATCH))
        return
    with bind.connect() as conn:
        yield from conn.execute(stmt.execution_options(yield_per=BATCH))


class ExportLock:
    """One export per user and kind: SET NX with an expiry, renewed while it streams, released once."""

    def __init__(self, kind: str, user_id: int, busy: str) -> None:
        self.key = f"koinonia:export:{kind}:{user_id}"
        self.token = secrets.token_hex(8)
        self.busy = busy
        self.held = False

    def acquire(self) -> None:
        if not rds.client.set(self.key, self.token, nx=True, ex=LOCK_SECONDS):
            raise ExportRunning(self.busy)
        self.held = True

    def renew(self) -> None:
        rds.client.eval(_RENEW, 1, self.key, self.token, LOCK_SECONDS)

    def release(self) -> None:
        if self.held:
            self.held = False
            rds.client.eval(_RELEASE, 1, self.key, self.token)


def _body(bind, stmt: Select, header: list[str], rows: Callable, lock: ExportLock) -> Iterator[str]:
    """The file in chunks; the connection closes and the lock goes when it ends or the client leaves."""
    try:
        for chunk in csvfiles.chunks(chain([header], rows(_fetch(bind, stmt))), BATCH):
            lock.renew()
            yield chunk
    finally:
        lock.release()


def stream(
    actor,
    lock: ExportLock,
    record: Callable[[], object],
    stmt: Select,
    header: list[str],
    rows: Callable[[Iterable[tuple]], Iterator[list[object]]],
    filename: str,
) -> Response:
    """A streamed text/csv download of `stmt`'s rows turned into cells by `rows`.

    `record` adds the audit row; it commits before the first row leaves, so an export is on record
    even if the download breaks off. Raises ExportRunning when the user has one under way.
    """
    lock.acquire()
    try:
        record()
        db.session.commit()
    except Exception:
        lock.release()
        raise
    # The commit expired the signed-in user: load it again now, before the session closes, so the
    # rest of the request (logs, headers) can still read it.
    _ = actor.church_id
    bind = read_bind(db.engine)  # the replica's, in a @replica_reads view that reads there
    if isinstance(bind, Engine):
        # Everything the body needs is in hand: give the request's connection back to the pool now.
        db.session.close()
        bind = _export_engine(bind)
    response = Response(_body(bind, stmt, header, rows, lock), mimetype="text/csv")
    # A body the server never starts (the client left first) never runs its finally.
    response.call_on_close(lock.release)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
