"""Signed-in sessions: one `user_sessions` row per browser, named by an opaque random key.

The key travels in the signed session cookie and the remember-me cookie as
"<user id>:<session version>:<key>" (Flask-Login's `_user_id`). Every `login_user` starts a row
(the `user_logged_in` signal below), so whatever signs someone in (the sign-in form, an
invitation, a verified sign-up) gets a session the person can see and end at /account/sessions.

Checking it costs no round trip of its own: the signed-in identity (app.auth.identity) is kept
with the keys of the user's live sessions, under the ("user", id) dependency, and starting or
ending a session moves that dependency (app.cache.registry), so an ended session is refused on
its very next request, in every process. `last_seen_at` is written at most once every
`SEEN_EVERY` per session and process, after the response, on a connection of its own.

A sign-out everywhere (sign-out, a new role or password, deactivation) moves the user's
`session_version`; rows started under an older version are dead and neither listed nor accepted.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app, g, request
from flask import session as cookie_session
from flask_login import user_logged_in
from sqlalchemy import Engine, delete, or_, select, update

from app import audit, cache
from app.extensions import db
from app.models import User, UserSession
from app.security.inputs import parse_id

SEEN_EVERY = timedelta(minutes=5)
MAX_USER_AGENT = 512
MAX_KEY = 64
# A session nobody has used for this long is forgotten at the user's next sign-in.
IDLE_FORGOTTEN = timedelta(days=400)


@dataclass(frozen=True, slots=True)
class Token:
    user_id: int
    version: int
    key: str


def token_for(user: User, key: str) -> str:
    """What the session and remember-me cookies carry for this user's session `key`."""
    return f"{user.id}:{user.session_version}:{key}"


def parse_token(token: str) -> Token | None:
    """The parts of "<id>:<version>:<key>", or None (an older cookie: sign in again)."""
    raw_id, _, rest = str(token).partition(":")
    raw_version, _, key = rest.partition(":")
    user_id, version = parse_id(raw_id), parse_id(raw_version)
    if user_id is None or version is None or not key or len(key) > MAX_KEY:
        return None
    return Token(user_id, version, key)


def start(user: User, user_agent: str | None, ip: str | None) -> str:
    """Add a session row for `user` (committed by the caller); returns its key.

    Rows a sign-out everywhere ended, or that nobody used for a long time, go at the same time.
    """
    # A version moved in this same transaction (a new password, then sign-in) is a SQL expression
    # until flushed; after the flush it reads back as the number the new session must carry.
    db.session.flush()
    key = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            or_(UserSession.session_version != user.session_version, UserSession.last_seen_at < now - IDLE_FORGOTTEN),
        )
    )
    cache.bump(("user", user.id))
    db.session.add(
        UserSession(
            id=key,
            user_id=user.id,
            church_id=user.church_id,
            session_version=user.session_version,
            user_agent=(user_agent or "")[:MAX_USER_AGENT] or None,
            ip=(ip or "")[:64] or None,
            created_at=now,
            last_seen_at=now,
        )
    )
    return key


def live_sessions(user_id: int, version: int) -> dict[str, datetime]:
    """The user's live sessions at `version`: key -> last seen (what the identity keeps)."""
    rows = db.session.execute(
        select(UserSession.id, UserSession.last_seen_at).where(
            UserSession.user_id == user_id, UserSession.session_version == version
        )
    )
    return {key: seen for key, seen in rows}


def sessions_of(user: User) -> list[UserSession]:
    """The user's live sessions, the most recently used first (the /account/sessions list)."""
    stmt = (
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.session_version == user.session_version)
        .order_by(UserSession.last_seen_at.desc(), UserSession.created_at.desc())
    )
    return list(db.session.scalars(stmt))


def end(user: User, key: str) -> bool:
    """End one of the user's sessions (its cookie is refused from its next request)."""
    row = db.session.scalar(select(UserSession).where(UserSession.user_id == user.id, UserSession.id == key))
    if row is None:
        return False
    audit.record("auth.session_ended", target=("user", user.id), detail={"device": describe(row.user_agent)})
    db.session.delete(row)
    return True


def end_others(user: User, keep: str) -> int:
    """End every session of the user but `keep` (this browser); returns how many ended."""
    ended = db.session.execute(
        delete(UserSession).where(UserSession.user_id == user.id, UserSession.id != keep)
    ).rowcount
    cache.bump(("user", user.id))
    audit.record("auth.sessions_ended", target=("user", user.id), detail={"count": ended or 0})
    return ended or 0


def end_all(user_id: int) -> None:
    """Forget every session row of the user (their version has moved: they are all dead)."""
    db.session.execute(delete(UserSession).where(UserSession.user_id == user_id))
    cache.bump(("user", user_id))


def current_key() -> str | None:
    """The key of the session this request came with, when it is signed in."""
    return g.get("koinonia_session_key")


# --- the request ------------------------------------------------------------------------------

_seen: dict[str, float] = {}  # key -> monotonic time this process last wrote last_seen_at


def accept(key: str, last_seen: datetime) -> None:
    """Note that this request is session `key`, and whether its last_seen_at is due a write."""
    g.koinonia_session_key = key
    now = time.monotonic()
    due = datetime.now(UTC) - last_seen >= SEEN_EVERY and now - _seen.get(key, -1e9) >= SEEN_EVERY.total_seconds()
    if due:
        if len(_seen) > 10_000:
            _seen.clear()
        _seen[key] = now
        g.koinonia_session_seen = key


def _write_seen(response):
    """After the response is built: one small UPDATE when this session's last_seen_at is due."""
    key = g.pop("koinonia_session_seen", None)
    if key is None:
        return response
    # The address too: a phone moves between networks, and the list should say where it was last.
    stmt = (
        update(UserSession)
        .where(UserSession.id == key, UserSession.last_seen_at < datetime.now(UTC) - SEEN_EVERY / 2)
        .values(last_seen_at=datetime.now(UTC), ip=(request.remote_addr or "")[:64] or None)
    )
    bind = db.engine
    try:
        if isinstance(bind, Engine):
            # Its own short transaction: the request's session may hold work that is not ours to commit.
            with bind.begin() as conn:
                conn.execute(stmt)
        else:
            db.session.execute(stmt)  # bound to one open connection (the test suite's transaction)
    except Exception:  # noqa: BLE001 - a missed "last seen" must never fail a page
        current_app.logger.warning("could not note a session as seen", exc_info=True)
    return response


def _started(sender: Flask, user: User, **_extra) -> None:
    """Every sign-in starts a session row, and the cookies name it."""
    key = start(user, request.user_agent.string, request.remote_addr)
    db.session.commit()
    cookie_session["_user_id"] = token_for(user, key)
    g.koinonia_session_key = key


def init_app(app: Flask) -> None:
    """Start a session row at every sign-in, and note sessions as seen after responses."""
    user_logged_in.connect(_started, app)
    app.after_request(_write_seen)


# --- what the list shows -----------------------------------------------------------------------

# (substring, name), first match wins: Edge and Opera say "Chrome" too, Chrome says "Safari".
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)


def describe(user_agent: str | None) -> str:
    """A rough "Browser on System" from a user agent (plain substring checks, no regex)."""
    ua = user_agent or ""
    browser = next((name for needle, name in _BROWSERS if needle in ua), None)
    system = next((name for needle, name in _SYSTEMS if needle in ua), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


def network(ip: str | None) -> str:
    """The address masked to its network (/24, or /48 for IPv6): no place names without a GeoIP database."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return "unknown place"
    prefix = 24 if address.version == 4 else 48
    net = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    if address.version == 4:
        return str(net.network_address).rsplit(".", 1)[0] + ".x"
    return f"{net.network_address}/{prefix}"
