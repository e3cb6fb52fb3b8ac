"""One SQL statement on an autocommit connection: the round trip of the busiest public paths.

Through the ORM session a statement costs four round trips (pool pre-ping, BEGIN, the statement,
COMMIT or ROLLBACK). A provider webhook's INSERT and a tracked link's lookup need one each, so
they run here on a small autocommit pool without pre-ping beside the app's pool, one per process
and database. A connection the server dropped fails that one statement, is discarded, and the
statement is tried once more on a fresh connection.

The SQL uses the driver's own placeholders (`%s`), so the same text also runs through the
session when the app is bound to one open connection (the test suite's rolled-back transaction).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import current_app
from sqlalchemy import Engine, create_engine

from app.config import driver_connect_args
from app.extensions import db

log = logging.getLogger(__name__)

_engines: dict[tuple[int, str], Engine] = {}


def _engine(engine: Engine) -> Engine:
    key = (os.getpid(), str(engine.url))
    found = _engines.get(key)
    if found is None:
        found = create_engine(
            engine.url,
            connect_args={"autocommit": True, **driver_connect_args(current_app.config["DATABASE_POOLER"])},
            pool_pre_ping=False,
            pool_reset_on_return=None,
            pool_size=8,
            max_overflow=8,
            pool_recycle=1800,
        )
        _engines[key] = found
    return found


def one_row(sql: str, params: tuple[Any, ...], *, write: bool = False) -> tuple[Any, ...] | None:
    """Run `sql` (on the primary) and return its first row, or None; `write` commits it in tests."""
    bind = db.engine
    if not isinstance(bind, Engine):
        row = db.session.connection().exec_driver_sql(sql, params).fetchone()
        if write:
            db.session.commit()
        return tuple(row) if row is not None else None
    engine = _engine(bind)
    for attempt in (1, 2):
        conn = engine.raw_connection()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchone() if cur.description else None
        except engine.dialect.loaded_dbapi.Error as exc:
            if attempt == 2 or not engine.dialect.is_disconnect(exc, conn.driver_connection, None):
                raise
            conn.invalidate(exc)
            log.warning("a single statement lost its database connection; retrying on a fresh one")
        finally:
            conn.close()
    return None
