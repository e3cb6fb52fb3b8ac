"""Read-only work on a streaming replica (DATABASE_REPLICA_URL), with read-your-writes.

A view marked `@replica_reads` (dashboard figures, member lists and counts, inbox lists,
exports) sends its plain SELECTs to the replica; everything else, and every write or
`SELECT ... FOR UPDATE` inside such a view, stays on the primary. Reads stay on the primary:

- when no replica is configured, or it cannot be reached;
- when the replica lags by more than REPLICA_MAX_LAG_SECONDS (measured at most every
  LAG_CHECK_SECONDS per process, so a request costs no extra query);
- for a signed-in user who changed something (any POST, PUT, PATCH or DELETE) in the last
  read_your_writes_seconds(): the window outlasts the largest lag a replica may be read at,
  so whoever wrote reads it back.

The routing is in RoutingSession.get_bind, the one place SQLAlchemy asks where a statement goes.
"""

from __future__ import annotations

import functools
import logging
import threading
import time

import sqlalchemy as sa
from flask import Flask, current_app, g, has_app_context, has_request_context, request, session
from flask_sqlalchemy.session import Session
from prometheus_client import Counter

log = logging.getLogger(__name__)

# How often a process asks the replica how far behind it is.
LAG_CHECK_SECONDS = 2.0
# The session key holding when this browser last wrote (epoch seconds); signed with the cookie.
WROTE_AT_KEY = "_wrote_at"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READS = Counter("koinonia_db_read_requests_total", "Read-only views, by the database that served them", ["target"])

LAG_SQL = sa.text(
    "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)


class Replica:
    """One app's replica engine and what it last measured of its lag."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.engine: sa.Engine | None = None
        self.url: str | None = None
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._lag: float | None = None
        self._error: str | None = None
        self.configure(app.config.get("DATABASE_REPLICA_URL"))

    def configure(self, url: str | None) -> None:
        """Point at another replica (or none); the old engine's connections are closed."""
        if self.engine is not None:
            self.engine.dispose()
        self.url = url
        options = dict(self.app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        self.engine = sa.create_engine(url, **options) if url else None
        self._checked_at = float("-inf")

    def status(self, *, fresh: bool = False) -> dict[str, object]:
        """{"configured", "lag_seconds", "error", "serving_reads"}, measured at most every LAG_CHECK_SECONDS."""
        if self.engine is None:
            return {"configured": False, "serving_reads": False}
        with self._lock:
            if fresh or time.monotonic() - self._checked_at >= LAG_CHECK_SECONDS:
                self._measure()
            lag, error = self._lag, self._error
        serving = error is None and lag is not None and lag <= self.app.config["REPLICA_MAX_LAG_SECONDS"]
        return {"configured": True, "lag_seconds": lag, "error": error, "serving_reads": serving}

    def _measure(self) -> None:
        self._checked_at = time.monotonic()
        try:
            with self.engine.connect() as conn:
                in_recovery, lag = conn.execute(LAG_SQL).one()
            # A promoted replica is a primary of its own now: it no longer follows ours.
            self._error = None if in_recovery else "not_in_recovery"
            self._lag = round(float(lag or 0), 3)
        except sa.exc.SQLAlchemyError as exc:
            if self._error != type(exc).__name__:
                log.warning("replica unreachable, reads go to the primary", extra={"error": type(exc).__name__})
            self._error, self._lag = type(exc).__name__, None


def init_app(app: Flask) -> None:
    app.config.setdefault("REPLICA_MAX_LAG_SECONDS", 5)
    app.extensions["koinonia_replica"] = Replica(app)

    @app.before_request
    def remember_writes() -> None:
        # Before the view, so a write that fails half-way still keeps its author on the primary.
        if request.method in UNSAFE_METHODS and "_user_id" in session:
            session[WROTE_AT_KEY] = int(time.time())


def replica_for(app: Flask) -> Replica | None:
    return app.extensions.get("koinonia_replica")


def read_your_writes_seconds(app: Flask) -> float:
    """How long after a write its author reads from the primary: longer than any lag we read at."""
    return app.config["REPLICA_MAX_LAG_SECONDS"] + LAG_CHECK_SECONDS + 1


def _choose_target() -> str:
    replica = replica_for(current_app)
    if replica is None or replica.engine is None:
        return "primary"
    wrote_at = session.get(WROTE_AT_KEY) if has_request_context() else None
    if isinstance(wrote_at, int) and time.time() - wrote_at < read_your_writes_seconds(current_app):
        return "primary"
    return "replica" if replica.status()["serving_reads"] else "primary"


def replica_reads(view):
    """Send this read-only view's SELECTs to the replica when one is fit to serve them."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.db_read_target = _choose_target()
        READS.labels(g.db_read_target).inc()
        try:
            return view(*args, **kwargs)
        finally:
            # An export has taken its engine by now; whatever runs after the view writes or reads
            # back on the primary (and an app context shared by several requests starts clean).
            g.pop("db_read_target", None)

    return wrapper


def read_target() -> str:
    """Where this request's read-only SELECTs go: "replica" or "primary"."""
    return g.get("db_read_target", "primary") if has_app_context() else "primary"


def read_bind(primary):
    """The engine a streamed read (an export) should use: the replica's when this request reads there."""
    replica = replica_for(current_app)
    if read_target() == "replica" and replica is not None and replica.engine is not None:
        return replica.engine
    return primary


def _is_plain_read(clause) -> bool:
    if isinstance(clause, sa.Select):
        return clause._for_update_arg is None
    return isinstance(clause, sa.CompoundSelect)


class RoutingSession(Session):
    """Flask-SQLAlchemy's session, sending a @replica_reads view's plain SELECTs to the replica."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and not self._flushing and _is_plain_read(clause) and read_target() == "replica":
            replica = replica_for(current_app)
            if replica is not None and replica.engine is not None:
                return replica.engine
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
