"""The member list as CSV: the same query as the page, streamed from a server-side cursor.

A download lasts as long as the client takes to read it, so it never holds one of the request
pool's connections: the view builds the statement, gives its session back and returns; the body
opens a connection of its own, reads through a named cursor BATCH rows at a time, and closes it
when the file ends or the client goes away. One export per user runs at a time (a Redis lock).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import chain

from flask import Response
from sqlalchemy import Connection, Engine, Select, create_engine, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.pool import NullPool

from app import audit
from app.extensions import db, rds
from app.models import Branch, Group, GroupMember, Member, User
from app.people.phones import is_e164
from app.people.queries import MemberFilters, member_select
from app.people.services import require_admin
from app.security import csvfiles

HEADER = [
    "first_name",
    "last_name",
    "phone",
    "email",
    "branch",
    "groups",
    "language",
    "opted_out",
    "opted_out_at",
    "consent_source",
    "consent_at",
    "created_at",
    "notes",
]
BATCH = 1000
# Safety net for a process that dies mid-download; a running export renews it with every chunk.
LOCK_SECONDS = 120
# Renew or release the lock only while it is still this export's (it may have expired meanwhile).
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
# One engine per database URL whose connections are opened for one export and closed after it.
_export_engines: dict[object, Engine] = {}


class ExportRunning(Exception):
    """This user already has an export downloading."""


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else ""


def _phone(value: str | None) -> str:
    """The stored phone only when it parses as the valid E.164 it should be; anything else is left out.

    Inbound numbers come from the provider, so the column is not trusted: a value that is not a
    phone never reaches the file (the CSV writer lets a whole E.164 cell through unquoted).
    """
    return value if is_e164(value) else ""


def export_select(actor: User, filters: MemberFilters) -> Select:
    """The export's statement: the list's members with their branch and groups, in name order."""
    group_names = (
        select(func.string_agg(Group.name, aggregate_order_by(literal_column("'; '"), Group.name)))
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(GroupMember.member_id == Member.id)
        .scalar_subquery()
    )
    return (
        member_select(actor, filters)
        .outerjoin(Branch, Branch.id == Member.branch_id)
        .with_only_columns(
            Member.first_name,
            Member.last_name,
            Member.phone_e164,
            Member.email,
            Branch.name,
            group_names,
            Member.language,
            Member.opted_out_at,
            Member.consent_source,
            Member.consent_at,
            Member.created_at,
            Member.notes,
        )
        .order_by(func.lower(Member.last_name), func.lower(Member.first_name), Member.id)
    )


def export_rows(result: Iterable[tuple]) -> Iterator[list[object]]:
    """The CSV rows for the statement's result rows."""
    for first, last, phone, email, branch, groups, language, opted_out_at, source, consent_at, created, notes in result:
        yield [
            first,
            last,
            _phone(phone),
            email,
            branch,
            groups,
            language,
            "yes" if opted_out_at else "no",
            _when(opted_out_at),
            source,
            _when(consent_at),
            _when(created),
            notes,
        ]


def _export_engine(engine: Engine) -> Engine:
    """An engine on the app's database without a pool: every connect() is a connection of its own."""
    found = _export_engines.get(engine.url)
    if found is None:
        found = _export_engines[engine.url] = create_engine(engine.url, poolclass=NullPool)
    return found


def _fetch(bind: Engine | Connection, stmt: Select) -> Iterator[tuple]:
    """The statement's rows, BATCH at a time from a server-side cursor (never all in memory)."""
    if not isinstance(bind, Engine):
        # The app is bound to an open connection (the test suite's rolled-back transaction).
        yield from bind.execute(stmt.execution_options(yield_per=BATCH))
        return
    with _export_engine(bind).connect() as conn:
        yield from conn.execute(stmt.execution_options(yield_per=BATCH))


class _Lock:
    """One export per user: SET NX with an expiry, renewed while it streams, released once at the end."""

    def __init__(self, user_id: int) -> None:
        self.key = f"koinonia:export:members:{user_id}"
        self.token = secrets.token_hex(8)
        self.held = False

    def acquire(self) -> None:
        if not rds.client.set(self.key, self.token, nx=True, ex=LOCK_SECONDS):
            raise ExportRunning("Your member export is still downloading. Wait for it to finish, then try again.")
        self.held = True

    def renew(self) -> None:
        rds.client.eval(_RENEW, 1, self.key, self.token, LOCK_SECONDS)

    def release(self) -> None:
        if self.held:
            self.held = False
            rds.client.eval(_RELEASE, 1, self.key, self.token)


def _body(bind: Engine | Connection, stmt: Select, lock: _Lock) -> Iterator[str]:
    """The file in chunks; the connection closes and the lock goes when it ends or the client leaves."""
    try:
        for chunk in csvfiles.chunks(chain([HEADER], export_rows(_fetch(bind, stmt))), BATCH):
            lock.renew()
            yield chunk
    finally:
        lock.release()


def export_response(actor: User, filters: MemberFilters) -> Response:
    """A streamed text/csv download named after the church and the day; ExportRunning if one is under way."""
    require_admin(actor)
    lock = _Lock(actor.id)
    lock.acquire()
    # Committed before the first row leaves: an export is on record even if the download breaks off.
    try:
        audit.record("members.exported", actor=actor, detail={"filters": filters.as_args()})
        db.session.commit()
    except Exception:
        lock.release()
        raise
    # Read after the commit, which expired the user: loaded again now, before the session closes.
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    name = f"members-{actor.church.slug}-{stamp}.csv"
    stmt = export_select(actor, filters)
    bind = db.engine
    if isinstance(bind, Engine):
        # Everything the body needs is in hand: give the request's connection back to the pool now.
        db.session.close()
    response = Response(_body(bind, stmt, lock), mimetype="text/csv")
    # A body the server never starts (the client left first) never runs its finally.
    response.call_on_close(lock.release)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
