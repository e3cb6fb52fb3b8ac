"""The audit log: who did what in a church, written with the change it describes.

    from app import audit
    audit.record("broadcast.cancelled", target=broadcast, detail={"skipped": 12})

`record` adds one `AuditLog` row to the current database session and never commits: the row
commits with the change it describes, and a change that rolls back leaves no row behind. Inside
a request the church, the acting user and the client's address come from the signed-in user and
the request; jobs, webhooks and the CLI pass `church_id` (and `actor` when someone acted).

Actions are dotted names, past tense, `<thing>.<what happened>`:

    auth.sign_in, auth.sign_in_failed, auth.signed_out, auth.sessions_ended,
    staff.invited, staff.role_changed, staff.deactivated,
    broadcast.sent, broadcast.cancelled, member.created, member.updated, member.deleted,
    members.deleted, members.exported, group.*, settings.changed, billing.changed

A new action gets a label in `app.settings.audit_log.ACTIONS`, so the page's filter offers it
(the page shows any action, labelled or not).

`detail` is a small JSON object of plain values (lists and dicts of strings and numbers). Phone
numbers and email addresses in its strings are masked before they are stored; never put a secret
(a password, a token, an API key) in it: name the field that changed instead.

The client's address is stored whole: it is what an owner needs to tell their own staff's sign-in
from a stranger's. The page shows it only to the church's owners and admins.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import inspect

from app.extensions import db
from app.models import AuditLog, User
from app.security.masking import mask_text

MAX_ACTION = 64
MAX_DETAIL_ITEMS = 50  # per list or object: a detail stays small whatever it describes
MAX_DETAIL_TEXT = 300

Target = Any  # an ORM object with an `id`, or a (type, id) pair


def record(
    action: str,
    *,
    target: Target | None = None,
    detail: dict[str, Any] | None = None,
    church_id: int | None = None,
    actor: User | None = None,
) -> AuditLog | None:
    """Add an audit row to the current session (it commits with the caller's change).

    Outside a request, pass `church_id` (and `actor` when a person acted); a row with no church
    is not recorded (there is nobody to show it to). Returns the row, or None when skipped.
    """
    if actor is None and church_id is None:
        actor = _signed_in_user()
    if church_id is None and actor is not None:
        church_id = actor.church_id
    if church_id is None:
        return None
    if actor is not None and actor.id is None:
        # An actor with no person behind it (an API key): the row names it, as nobody else will.
        detail = {**(detail or {}), "by": actor.display_name}
    target_type, target_id = _target(target)
    row = AuditLog(
        church_id=church_id,
        user_id=actor.id if actor is not None else None,
        action=action[:MAX_ACTION],
        target_type=target_type,
        target_id=target_id,
        detail=_clean(detail or {}),
        ip=_client_address(),
    )
    db.session.add(row)
    return row


def changes(obj: Any, fields: Iterable[str], hidden: Iterable[str] = ()) -> dict[str, Any]:
    """What changed on an ORM object since it was loaded (call before the flush): {field: [old, new]}.

    Fields in `hidden` (secrets, long texts) are named with "changed" instead of their values.
    """
    attrs = inspect(obj).attrs
    hidden = set(hidden)
    found: dict[str, Any] = {}
    for name in fields:
        history = attrs[name].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        found[name] = "changed" if name in hidden else [_plain(old), _plain(new)]
    return found


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _signed_in_user() -> User | None:
    if not has_request_context():
        return None
    user = current_user._get_current_object()  # the user itself, not the proxy
    return user if getattr(user, "is_authenticated", False) else None


def _client_address() -> str | None:
    if not has_request_context():
        return None
    return (request.remote_addr or "")[:64] or None


def _target(target: Target | None) -> tuple[str | None, int | None]:
    if target is None:
        return None, None
    if isinstance(target, tuple):
        kind, ident = target
        return str(kind)[:64], ident
    target = getattr(target, "_get_current_object", lambda: target)()  # current_user is a proxy
    # PhoneNumber -> "phone_number": a target names one thing, by its model.
    kind = "".join(f"_{c.lower()}" if c.isupper() else c for c in type(target).__name__).lstrip("_")
    return kind, target.id


def _clean(value: Any, depth: int = 0) -> Any:
    """Plain JSON values, bounded, with phone numbers and emails masked."""
    if isinstance(value, str):
        return mask_text(value[:MAX_DETAIL_TEXT])
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth >= 3:
        return None
    if isinstance(value, dict):
        items = list(value.items())[:MAX_DETAIL_ITEMS]
        return {str(k)[:64]: _clean(v, depth + 1) for k, v in items}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v, depth + 1) for v in list(value)[:MAX_DETAIL_ITEMS]]
    return mask_text(str(value)[:MAX_DETAIL_TEXT])
