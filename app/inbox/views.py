"""Template contexts for the inbox pages and partials (kept out of routes.py to keep it thin)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import redis
from flask import current_app, g, render_template
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from app.delivery.segments import analyze
from app.extensions import db, rds
from app.inbox import live, queries, services
from app.inbox.forms import NoteForm
from app.models import Conversation, Member

IN_FLIGHT = ("queued", "sending", "sent")
WINDOW_MAX = 200  # list rows a poll re-renders at most (the ones loaded on screen)
# Cached pieces are stored with the versions they were rendered at (a stamp, see _stamped) under
# keys that hold no version, so a page reads them together with the versions in one round trip and
# uses a piece only if its stamp is current. They expire only to keep Redis small; list pages sooner,
# since changes not recorded as inbox changes (members renamed by an import) show in the list.
ROWS_TTL = 60
PANE_TTL = 600
CHURCH_LIST_TTL = 600


def list_context(flt: queries.ListFilter, version: int | None = None) -> dict[str, Any]:
    """The list pane: one page of rows (as HTML), the filter, the unread badge and the live version.

    `version` is the church's inbox version when the caller has just read it (with the list's
    cached pieces: see find_pane).
    """
    church_id = current_user.church_id
    if version is None:
        version = _lookup(church_id, flt).church
    return {
        "flt": flt,
        "rows_html": rows_html(church_id, flt, version),
        "unread_total": unread_total(church_id, version),
        "version": version,
    }


def _scope() -> str:
    """Whose view of the list this is: admins all see the same rows, each leader their own."""
    return "all" if current_user.is_admin else f"user{current_user.id}"


def rows_html(church_id: int, flt: queries.ListFilter, version: int) -> Markup:
    """One page of list rows, rendered once per inbox version and shared by everyone with the same view.

    Every change to a conversation bumps the version after its commit, so a page rendered
    for version v is never stale for v. The day is in the stamp because the times say "9:41 AM"
    today and "Mon" tomorrow; the selected row is marked by inbox.js, not here.
    """
    key, stamp = _rows_key(church_id, flt), f"{version}:{clock_today()}"
    cached = _stamped(_cached(key), stamp)
    if cached is not None:
        return Markup(cached)
    listing = queries.list_conversations(church_id, current_user, flt)
    html = render_template("inbox/_rows.html", listing=listing, flt=flt, conversation=None)
    _store(key, stamp, html, ROWS_TTL)
    return Markup(html)


def _rows_key(church_id: int, flt: queries.ListFilter) -> str:
    who = f"{flt.who}{current_user.id}" if flt.who == "mine" else flt.who
    cursor = f"{flt.before_at.isoformat()}_{flt.before_id}" if flt.before_at else ""
    raw = f"{flt.status}|{who}|{int(flt.unread)}|{flt.q}|{cursor}"
    return f"koinonia:inbox:rows:{church_id}:{_scope()}:{hashlib.sha1(raw.encode()).hexdigest()}"


def _unread_key(church_id: int) -> str:
    return f"koinonia:inbox:unread:{church_id}:{_scope()}"


def pane_key(church_id: int, conversation_id: int) -> str:
    return f"koinonia:inbox:pane:{church_id}:{conversation_id}"


def _church_list_key(name: str, church_id: int) -> str:
    return f"koinonia:inbox:{name}:{church_id}"


def _threads_generation(church_id: int) -> int:
    """The church's threads generation (live.Versions.threads), read once per request."""
    generations = g.setdefault("inbox_threads_generation", {})
    if church_id not in generations:
        generations[church_id] = live.threads_generation(church_id)
    return generations[church_id]


def _lookup(church_id: int, flt: queries.ListFilter | None = None, conversation_id: int | None = None) -> live.Versions:
    """The church's versions, and the cached pieces of the page (the list's, a thread's pane) with them."""
    keys = [_rows_key(church_id, flt), _unread_key(church_id)] if flt is not None else []
    if conversation_id is not None:
        keys.append(pane_key(church_id, conversation_id))
    versions, values = live.lookup(church_id, conversation_id, keys)
    g.setdefault("inbox_cached", {}).update(zip(keys, values, strict=True))
    g.setdefault("inbox_threads_generation", {})[church_id] = versions.threads
    return versions


def _prefetch(*keys: str) -> None:
    """Read the cached pieces a page needs in one round trip (MGET) instead of one GET each."""
    prefetched = g.setdefault("inbox_cached", {})
    keys = tuple(k for k in keys if k not in prefetched)
    if not keys:
        return
    try:
        values = rds.client.mget(keys)
    except redis.RedisError:
        return
    prefetched.update(zip(keys, values, strict=True))


def _cached(key: str) -> bytes | None:
    """A cached piece: from this request's prefetch when it read that key, else from Redis."""
    prefetched = g.get("inbox_cached")
    if prefetched is not None and key in prefetched:
        return prefetched.pop(key)
    try:
        return rds.client.get(key)
    except redis.RedisError:
        return None


def _stamped(raw: bytes | None, stamp: str) -> str | None:
    """A cached value stored by `_store`, if it was stored for `stamp` (else it is out of date)."""
    if raw is None:
        return None
    head, newline, value = raw.partition(b"\n")
    return value.decode() if newline and head.decode() == stamp else None


def _store(key: str, stamp: str, value: str, ttl: int) -> None:
    try:
        rds.client.set(key, f"{stamp}\n{value}", ex=ttl)
    except redis.RedisError:
        pass


def clock_today() -> str:
    from app.inbox.templating import clock

    return clock().today.isoformat()


def unread_total(church_id: int, version: int) -> int:
    """The unread badge, counted once per inbox version (every change to unread bumps it)."""
    key, stamp = _unread_key(church_id), str(version)
    cached = _stamped(_cached(key), stamp)
    if cached is not None:
        return int(cached)
    count = queries.unread_count(church_id, current_user)
    _store(key, stamp, str(count), PANE_TTL)
    return count


def reply_box_context(
    conv: Conversation, body: str = "", error: str | None = None, *, member: Member | None = None, reply_to: Any = ...
) -> dict[str, Any]:
    """The reply box: disabled with the reason when the member opted out."""
    member = member or db.session.get(Member, conv.member_id)
    return {
        "conversation": conv,
        "member": member,
        "blocked": services.opt_out_reason(member),
        "body": body,
        "error": error,
        "info": analyze(body or ""),
        "canned": _church_cached("canned", conv.church_id, services.canned_replies, ("id", "name")),
        "reply_to": queries.latest_broadcast_reply(conv) if reply_to is ... else reply_to,
    }


def thread_context(conv: Conversation, *, items: bool = True, with_row: bool = True) -> dict[str, Any]:
    """The thread pane: header, the newest messages and notes, reply box and note form.

    `with_row` adds the conversation's list row (for an out-of-band update of the list); the
    full page renders the list itself and skips that query.
    """
    reply_to: Any = ...
    _prefetch(_church_list_key("canned", conv.church_id), _church_list_key("users", conv.church_id))
    thread = None
    if items:
        thread = queries.thread_page(conv)
        # The latest broadcast answered is among the newest messages, already loaded.
        linked = [i for i in thread.items if getattr(i, "broadcast_id", None) in thread.broadcasts]
        reply_to = (linked[-1].broadcast_id, thread.broadcasts[linked[-1].broadcast_id]) if linked else None
    ctx = reply_box_context(conv, reply_to=reply_to)
    ctx["users"] = assignees(conv.church_id)
    ctx["row"] = queries.list_row(conv.church_id, conv.id) if with_row else None
    if thread is not None:
        ctx["thread"] = thread
        ctx["note_form"] = NoteForm(formdata=None)
    return ctx


@dataclass(slots=True)
class Pane:
    """A thread pane looked up in the cache, at the versions it was looked up with."""

    version: int  # the church's inbox version (the list's)
    key: str
    stamp: str  # the conversation's version, the threads' generation and the day
    html: str | None  # None until found in the cache or rendered


def find_pane(church_id: int, conversation_id: int, flt: queries.ListFilter | None = None) -> Pane:
    """Look up a conversation's pane (and, with `flt`, the list beside it) in one round trip.

    A pane is good for the version at which its conversation last changed (live.lookup): a new
    message, note, status or assignment in this thread, or an edit of its member, moves it; a
    change to another conversation does not. The threads' generation covers what all threads
    show (staff, canned replies, members updated by an import).
    """
    versions = _lookup(church_id, flt, conversation_id)
    key = pane_key(church_id, conversation_id)
    stamp = f"{versions.conversation}:{versions.threads}:{clock_today()}"
    return Pane(versions.church, key, stamp, _stamped(_cached(key), stamp))


def pane_html(pane: Pane, conv: Conversation | None = None) -> Markup:
    """The thread pane as HTML: from the cache, or rendered (`conv` is needed then) and stored.

    Nothing in it depends on who looks (leaders reach it only through `_conversation`'s check)
    except the forms' CSRF token, which is put in as it is served.
    """
    hole = csrf_hole()
    if pane.html is None:
        if conv is None:
            raise LookupError(f"pane {pane.key} is not cached: render it from its conversation")
        ctx = thread_context(conv, with_row=False)
        pane.html = render_template("inbox/_thread.html", **ctx, csrf_token=lambda: hole)
        _store(pane.key, pane.stamp, pane.html, PANE_TTL)
    return Markup(pane.html.replace(hole, generate_csrf()))


def csrf_hole() -> str:
    """Where a cached pane's forms take this request's CSRF token.

    Rendered panes are shared by everyone in the church and a token belongs to one session, so
    the token is put in as a pane is served. The marker is derived from the secret key, so that
    no text a member sends can contain it (and it is the same in every process).
    """
    marker = current_app.extensions.get("koinonia_csrf_hole")
    if marker is None:
        digest = hashlib.sha256(b"koinonia csrf hole:" + current_app.config["SECRET_KEY"].encode()).hexdigest()
        marker = current_app.extensions["koinonia_csrf_hole"] = f"csrf-{digest[:32]}"
    return marker


def assignees(church_id: int) -> list[SimpleNamespace]:
    """Who a conversation can be assigned to (id, display name, role)."""
    return _church_cached("users", church_id, services.assignable_users, ("id", "display_name", "role"))


def _church_cached(name: str, church_id: int, load: Any, fields: tuple[str, ...]) -> list[SimpleNamespace]:
    """Small per-church lists (assignees, canned replies) the thread shows, kept per threads generation.

    A user or template changed in Settings moves the generation (live._note_staff_and_templates).
    """
    key, stamp = _church_list_key(name, church_id), str(_threads_generation(church_id))
    cached = _stamped(_cached(key), stamp)
    if cached is None:
        rows = [{f: getattr(obj, f) for f in fields} for obj in load(church_id)]
        _store(key, stamp, json.dumps(rows), CHURCH_LIST_TTL)
    else:
        rows = json.loads(cached)
    return [SimpleNamespace(**row) for row in rows]


def poll_context(args: Any, version: int) -> dict[str, Any]:
    """What changed since `version`: the list window, the open thread's new items and statuses."""
    church_id = current_user.church_id
    current, changed = live.changed_since(church_id, version)
    flt = queries.ListFilter.from_args(args)
    ctx: dict[str, Any] = {
        "version": current,
        "flt": flt,
        "unread_total": unread_total(church_id, current),
        "window": None,
        "conversation": None,
    }
    if changed is None or changed:
        ctx["window"] = _list_window(flt, args.get("until", ""))
    conv = _open_conversation(args.get("conversation_id", ""))
    if conv is not None:
        ctx.update(_thread_changes(conv, args, changed))
        # Status webhooks may bump the version a moment before their commit is visible; while
        # a reply is still on its way, poll again even if the version stays the same.
        recent = datetime.now(UTC) - timedelta(minutes=10)
        ctx["recheck"] = any(m.status in IN_FLIGHT and m.created_at > recent for m in ctx["pending"])
    return ctx


def _list_window(flt: queries.ListFilter, until: str) -> queries.Page:
    """The rows from the top down to the last one the client has loaded (at most WINDOW_MAX)."""
    page = queries.list_conversations(current_user.church_id, current_user, flt.first_page(), limit=WINDOW_MAX)
    until_at, until_id = queries._cursor(until)
    if until_at is None:
        # Only the first page was on screen.
        return _trim(page, queries.PAGE_SIZE)
    keep = [r for r in page.rows if (r.last_message_at, r.id) >= (until_at, until_id)]
    return _trim(page, max(len(keep), queries.PAGE_SIZE))


def _trim(page: queries.Page, size: int) -> queries.Page:
    if len(page.rows) <= size:
        return page
    rows = page.rows[:size]
    return queries.Page(rows, queries.cursor_of(rows[-1]))


def _open_conversation(raw: str) -> Conversation | None:
    if not raw.isdigit():
        return None
    conv = db.session.get(Conversation, int(raw))
    if conv is None or conv.church_id != current_user.church_id or not services.can_see(current_user, conv):
        return None
    return conv


def _thread_changes(conv: Conversation, args: Any, changed: list[int] | None) -> dict[str, Any]:
    after = _int(args.get("after"))
    note_after = _int(args.get("note_after"))
    new_items = queries.messages_after(conv, after, note_after)
    pending = [m for m in queries.pending_messages(conv) if m.id <= after]
    ctx: dict[str, Any] = {
        "conversation": conv,
        "new_items": new_items,
        "pending": pending,
        "authors": queries.author_names([*new_items, *pending]),
        "broadcasts": queries.broadcast_labels(new_items),
        "header": None,
        "reply_box": None,
    }
    if changed is None or conv.id in changed:
        ctx["header"] = True
        ctx["users"] = assignees(conv.church_id)
        ctx["row"] = queries.list_row(conv.church_id, conv.id)
        member = db.session.get(Member, conv.member_id)
        ctx["member"] = member
        blocked = services.opt_out_reason(member)
        # Replace the reply box only when the opt-out state flipped: never wipe a half-written reply.
        if bool(blocked) != (args.get("blocked") == "1"):
            ctx["reply_box"] = True
            ctx.update(reply_box_context(conv))
    return ctx


def _int(raw: Any) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return 0


class Clock:
    """Formats times in the church's timezone; one per request, so a 50-row page does the set-up once."""

    def __init__(self, tz: str, now: datetime | None = None) -> None:
        self.zone = ZoneInfo(tz or "UTC")
        self.today = (now or datetime.now(UTC)).astimezone(self.zone).date()

    def short(self, value: datetime | None) -> str:
        """9:41 AM today, Mon this week, Nov 3 this year, Nov 3, 2025 before."""
        if value is None:
            return ""
        local = value.astimezone(self.zone)
        days = (self.today - local.date()).days
        if days == 0:
            return local.strftime("%-I:%M %p")
        if 0 < days < 7:
            return local.strftime("%a")
        if local.year == self.today.year:
            return local.strftime("%b %-d")
        return local.strftime("%b %-d, %Y")

    def stamp(self, value: datetime | None) -> str:
        """Full local date and time, for title attributes."""
        return value.astimezone(self.zone).strftime("%a %b %-d %Y, %-I:%M %p") if value else ""
