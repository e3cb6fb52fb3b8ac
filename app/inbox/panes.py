"""The inbox's panes: the list, the unread badge and a thread, rendered once and shared.

Each piece is an `app.cache` fragment named by what it shows and stamped with what it depends
on, so one cache lookup per page reads the versions and the pieces together:

    list rows      the church's conversations, its time zone and staff; for a leader, who they reach
    unread badge   the church's conversations; for a leader, who they reach
    thread pane    its conversation, the church's time zone, staff and canned replies

A change to any of those moves its dependency after the commit (`app.cache.registry`), so a
piece is never served past a change. The day is in the names, since times read "9:41 AM" today
and "Mon" tomorrow.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask import current_app, render_template
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from app import cache
from app.cache import Dep, Lookup
from app.delivery.segments import analyze
from app.extensions import db
from app.inbox import queries, services
from app.inbox.forms import NoteForm
from app.inbox.templating import clock
from app.models import Conversation, Member
from app.security.inputs import parse_id

IN_FLIGHT = ("queued", "sending", "sent")
WINDOW_MAX = 200  # list rows a poll re-renders at most (the ones loaded on screen)
TTL = 600  # pieces expire only to keep Redis small: their stamps say when they are out of date


def inbox_dep(church_id: int) -> Dep:
    """Any conversation of the church: its version is the inbox version the live poll compares."""
    return ("conversation", church_id)


def inbox_version(church_id: int) -> int:
    """The church's inbox version (0 before the first change)."""
    return cache.version(inbox_dep(church_id))


def _reach_deps(church_id: int) -> list[Dep]:
    """A leader's list also moves with the groups and leaders that say whom they reach."""
    return [] if current_user.is_admin else [("groups", church_id)]


def _scope() -> str:
    """Whose view of the list this is: admins all see the same rows, each leader their own."""
    return "all" if current_user.is_admin else f"user{current_user.id}"


def _rows_name(church_id: int, flt: queries.ListFilter) -> str:
    who = f"{flt.who}{current_user.id}" if flt.who == "mine" else flt.who
    cursor = f"{flt.before_at.isoformat()}_{flt.before_id}" if flt.before_at else ""
    raw = f"{flt.status}|{who}|{int(flt.unread)}|{flt.q}|{cursor}"
    digest = hashlib.sha1(raw.encode()).hexdigest()
    return f"inbox:rows:{church_id}:{_scope()}:{clock().today.isoformat()}:{digest}"


def _unread_name(church_id: int) -> str:
    return f"inbox:unread:{church_id}:{_scope()}"


def _pane_name(church_id: int, conversation_id: int) -> str:
    return f"inbox:pane:{church_id}:{conversation_id}:{clock().today.isoformat()}"


def _list_wanted(church_id: int, flt: queries.ListFilter) -> dict[str, list[Dep]]:
    reach = _reach_deps(church_id)
    return {
        _rows_name(church_id, flt): [inbox_dep(church_id), ("church", church_id), ("staff", church_id), *reach],
        _unread_name(church_id): [inbox_dep(church_id), *reach],
    }


def _pane_wanted(church_id: int, conversation_id: int) -> dict[str, list[Dep]]:
    return {
        _pane_name(church_id, conversation_id): [
            ("conversation", church_id, conversation_id),
            ("church", church_id),
            ("staff", church_id),
            ("templates", church_id),
        ],
        **_lists_wanted(church_id),
    }


def _lists_wanted(church_id: int) -> dict[str, list[Dep]]:
    return {f"inbox:canned:{church_id}": [("templates", church_id)], f"inbox:users:{church_id}": [("staff", church_id)]}


def list_context(flt: queries.ListFilter, found: Lookup | None = None) -> dict[str, Any]:
    """The list pane: one page of rows (as HTML), the filter, the unread badge and the live version.

    `found` is the page's lookup when the caller made one (with a thread's pane: see find_pane).
    """
    church_id = current_user.church_id
    wanted = _list_wanted(church_id, flt)
    if found is None:
        found = cache.lookup(wanted, extra=[inbox_dep(church_id)])
    (rows_name, rows_deps), (unread_name, unread_deps) = wanted.items()

    def rows() -> str:
        listing = queries.list_conversations(church_id, current_user, flt)
        return render_template("inbox/_rows.html", listing=listing, flt=flt, conversation=None)

    return {
        "flt": flt,
        # One page of rows, shared by everyone with the same view (inbox.js marks the selected row).
        "rows_html": Markup(cache.fragment(rows_name, rows_deps, TTL, rows, found)),
        "unread_total": unread_total(church_id, found, unread_name, unread_deps),
        "version": found.versions[inbox_dep(church_id)],
    }


def unread_total(
    church_id: int, found: Lookup | None = None, name: str | None = None, deps: list[Dep] | None = None
) -> int:
    """The unread badge, counted once per change to the church's conversations (or to a leader's reach)."""
    name = name or _unread_name(church_id)
    deps = deps or [inbox_dep(church_id), *_reach_deps(church_id)]
    return int(cache.fragment(name, deps, TTL, lambda: str(queries.unread_count(church_id, current_user)), found))


def reply_box_context(
    conv: Conversation,
    body: str = "",
    error: str | None = None,
    *,
    member: Member | None = None,
    reply_to: Any = ...,
    found: Lookup | None = None,
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
        "canned": _church_list("canned", conv.church_id, services.canned_replies, ("id", "name"), found),
        "reply_to": queries.latest_broadcast_reply(conv) if reply_to is ... else reply_to,
    }


def thread_context(
    conv: Conversation, *, items: bool = True, with_row: bool = True, found: Lookup | None = None
) -> dict[str, Any]:
    """The thread pane: header, the newest messages and notes, reply box and note form.

    `with_row` adds the conversation's list row (for an out-of-band update of the list); the
    full page renders the list itself and skips that query.
    """
    reply_to: Any = ...
    if found is None:
        found = cache.lookup(_lists_wanted(conv.church_id))
    thread = None
    if items:
        thread = queries.thread_page(conv)
        # The latest broadcast answered is among the newest messages, already loaded.
        linked = [i for i in thread.items if getattr(i, "broadcast_id", None) in thread.broadcasts]
        reply_to = (linked[-1].broadcast_id, thread.broadcasts[linked[-1].broadcast_id]) if linked else None
    ctx = reply_box_context(conv, reply_to=reply_to, found=found)
    ctx["users"] = assignees(conv.church_id, found)
    ctx["row"] = queries.list_row(conv.church_id, conv.id) if with_row else None
    if thread is not None:
        ctx["thread"] = thread
        ctx["note_form"] = NoteForm(formdata=None)
    return ctx


@dataclass(slots=True)
class Pane:
    """A thread pane looked up in the cache, with the rest of the page's lookup."""

    found: Lookup
    church_id: int
    name: str

    @property
    def html(self) -> str | None:
        """The pane's HTML if it was cached at the versions looked up (or rendered since)."""
        return self.found.entries[self.name].value


def find_pane(church_id: int, conversation_id: int, flt: queries.ListFilter | None = None) -> Pane:
    """Look up a conversation's pane (and, with `flt`, the list beside it) in one round trip."""
    wanted = _pane_wanted(church_id, conversation_id)
    if flt is not None:
        wanted.update(_list_wanted(church_id, flt))
    found = cache.lookup(wanted, extra=[inbox_dep(church_id)])
    return Pane(found, church_id, _pane_name(church_id, conversation_id))


def pane_html(pane: Pane, conv: Conversation | None = None) -> Markup:
    """The thread pane as HTML: from the cache, or rendered (`conv` is needed then) and stored.

    Nothing in it depends on who looks (leaders reach it only through `_conversation`'s check)
    except the forms' CSRF token, which is put in as it is served.
    """
    hole = csrf_hole()
    entry = pane.found.entries[pane.name]
    if entry.value is None:
        if conv is None:
            raise LookupError(f"pane {pane.name} is not cached: render it from its conversation")
        ctx = thread_context(conv, with_row=False, found=pane.found)
        cache.store(entry, render_template("inbox/_thread.html", **ctx, csrf_token=lambda: hole), TTL)
    return Markup(entry.value.replace(hole, generate_csrf()))


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


def assignees(church_id: int, found: Lookup | None = None) -> list[SimpleNamespace]:
    """Who a conversation can be assigned to (id, display name, role)."""
    return _church_list("users", church_id, services.assignable_users, ("id", "display_name", "is_leader"), found)


def _church_list(
    kind: str, church_id: int, load: Any, fields: tuple[str, ...], found: Lookup | None
) -> list[SimpleNamespace]:
    """Small per-church lists a thread shows (assignees, canned replies), cached as JSON."""
    name = f"inbox:{kind}:{church_id}"

    def render() -> str:
        return json.dumps([{f: getattr(obj, f) for f in fields} for obj in load(church_id)])

    rows = json.loads(cache.fragment(name, _lists_wanted(church_id)[name], TTL, render, found))
    return [SimpleNamespace(**row) for row in rows]


def poll_context(args: Any, version: int) -> dict[str, Any]:
    """What changed since `version`: the list window, the open thread's new items and statuses."""
    church_id = current_user.church_id
    current, changed = cache.changed_since(inbox_dep(church_id), version)
    flt = queries.ListFilter.from_args(args)
    ctx: dict[str, Any] = {
        "version": current,
        "flt": flt,
        "unread_total": unread_total(church_id),
        "window": None,
        "changed_rows": None,
        "conversation": None,
    }
    if changed and flt.q:
        # A searched list re-reads only the rows that moved: the search over every message
        # must not run again each time anything in the church's inbox changes.
        ctx["changed_rows"], ctx["changed_ids"] = _changed_rows(flt, changed, args.get("until", ""))
    elif changed is None or changed:
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
    until_at, until_id = queries.parse_cursor(until)
    if until_at is None:
        # Only the first page was on screen.
        return _trim(page, queries.PAGE_SIZE)
    keep = [r for r in page.rows if (r.last_message_at, r.id) >= (until_at, until_id)]
    return _trim(page, max(len(keep), queries.PAGE_SIZE))


def _changed_rows(flt: queries.ListFilter, changed: list[int], until: str) -> tuple[queries.Page, list[int]]:
    """The moved rows that (still) match, above the last row loaded, and every moved id.

    The client drops every moved row and puts the matching ones back; inbox.js keeps the list
    in cursor order. A row older than the loaded window stays out, as it would in a re-read.
    """
    ids = sorted(set(changed))
    rows, _ = queries.list_rows_by_id(current_user.church_id, current_user, flt.first_page(), ids)
    until_at, until_id = queries.parse_cursor(until)
    if until_at is not None:
        rows = [r for r in rows if (r.last_message_at, r.id) >= (until_at, until_id)]
    return queries.Page(rows, None), ids


def _trim(page: queries.Page, size: int) -> queries.Page:
    if len(page.rows) <= size:
        return page
    rows = page.rows[:size]
    return queries.Page(rows, queries.cursor_of(rows[-1]))


def _open_conversation(raw: str) -> Conversation | None:
    if (conv_id := parse_id(raw)) is None:
        return None
    conv = db.session.get(Conversation, conv_id)
    if conv is None or conv.church_id != current_user.church_id or not services.can_see(current_user, conv):
        return None
    return conv


def _thread_changes(conv: Conversation, args: Any, changed: list[int] | None) -> dict[str, Any]:
    after = parse_id(args.get("after")) or 0
    note_after = parse_id(args.get("note_after")) or 0
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
