"""Find or make one row of each tenant model in a church, for the isolation walk.

The models are app.tenancy.ID_PARAMS's, not a list of our own: this file knows only the
column values each needs, keyed by the same id parameter. A parameter registered there
without values here fails with a message saying so.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.tenancy import ID_PARAMS

PARAM_OF = {model: param for param, model in ID_PARAMS.items()}


def _first(model, church):
    return db.session.scalar(select(model.id).where(model.church_id == church.id).order_by(model.id).limit(1))


def _values(param: str, church) -> dict:
    """Columns beyond church_id for a row of ID_PARAMS[param]; rows it points at are made first."""

    def row(other: str) -> int:
        return ensure_row(ID_PARAMS[other], church)

    values: dict[str, Callable[[], dict]] = {
        "member_id": lambda: {"first_name": "Iso", "last_name": "Lation", "phone_e164": "+17735550999"},
        "group_id": lambda: {"name": "Isolation group"},
        "branch_id": lambda: {"name": "Isolation branch"},
        "number_id": lambda: {"e164": "+17735550998"},
        "user_id": lambda: {"email": "iso@example.org", "role": "admin", "password_hash": "x"},
        "template_id": lambda: {"name": "Iso", "body": "Hi"},
        # The DTSTART + RRULE text build_rule writes: pages that list schedules parse it.
        "schedule_id": lambda: {
            "body": "Hi",
            "rrule": "DTSTART:20260104T090000\nRRULE:FREQ=WEEKLY;BYDAY=SU;UNTIL=20261231T235959",
        },
        "broadcast_id": lambda: {"body": "Hi"},
        "recipient_id": lambda: {
            "broadcast_id": row("broadcast_id"),
            "member_id": row("member_id"),
            "to_e164": "+17735550999",
        },
        "conversation_id": lambda: {"member_id": row("member_id")},
        "message_id": lambda: {
            "conversation_id": row("conversation_id"),
            "direction": "in",
            "body": "hi",
            "status": "received",
        },
        "note_id": lambda: {"conversation_id": row("conversation_id"), "body": "note"},
        "keyword_id": lambda: {"word": "ISO"},
        "dead_letter_id": lambda: {"kind": "send_batch", "payload": {}, "error": "boom"},
        "import_id": lambda: {"filename": "iso.csv", "content": b"phone\n", "status": "done"},
        "passkey_id": lambda: {
            "user_id": row("user_id"),
            "name": "Iso key",
            "credential_id": b"iso-credential",
            "public_key": b"iso-public-key",
            "user_handle": b"iso-handle",
        },
        "invitation_id": lambda: {
            "purpose": "staff_invitation",
            "token_hash": os.urandom(32),
            "email": "iso-invite@example.org",
            "payload": {"role": "leader", "group_ids": []},
            "expires_at": datetime.now(UTC) + timedelta(days=7),
        },
        "api_key_id": lambda: {
            "name": "Iso key",
            "scopes": ["read"],
            "prefix": "kn_live_iso0",
            "key_hash": f"iso-{church.id}",
        },
        "endpoint_id": lambda: {
            "url": "https://hooks.example.org/koinonia",
            "events": ["member.created"],
            "secret_sealed": "sealed",
        },
        "delivery_id": lambda: {
            "endpoint_id": row("endpoint_id"),
            "event_id": "msg_isolation",
            "event_type": "member.created",
            "payload": {"type": "member.created", "timestamp": "2026-01-01T00:00:00Z", "data": {}},
            "status": "failed",
        },
        "workflow_id": lambda: {"name": "Iso series", "trigger": "first_text"},
        "field_id": lambda: {"key": "iso_field", "name": "Iso field", "type": "text", "choices": []},
    }
    if param not in values:
        raise AssertionError(f"tests/tenant_rows.py does not know how to make a row for {param}")
    return values[param]()


def ensure_row(model, church) -> int:
    """The id of a `model` row owned by `church`, created if the church has none."""
    existing = _first(model, church)
    if existing is not None:
        return existing
    row = model(church_id=church.id, **_values(PARAM_OF[model], church))
    db.session.add(row)
    db.session.flush()
    return row.id
