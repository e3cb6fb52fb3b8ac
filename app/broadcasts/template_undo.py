"""Undoing a template delete: the deleted row is kept in Redis for a while under a one-time token.

Templates are small and nothing points at them (broadcasts keep their own text), so a copy to put
back is simpler than a soft delete that every reader of templates would have to filter.
"""

from __future__ import annotations

import json
import secrets

from sqlalchemy import select

from app.extensions import db, rds
from app.models import Template

UNDO_SECONDS = 15 * 60
_KEY = "koinonia:undo:template:{token}"


def delete_with_undo(template: Template) -> str:
    """Delete `template` (in the session) and return the token that puts it back."""
    token = secrets.token_urlsafe(18)
    copy = {
        "id": template.id,
        "church_id": template.church_id,
        "name": template.name,
        "body": template.body,
        "created_by_id": template.created_by_id,
    }
    rds.client.set(_KEY.format(token=token), json.dumps(copy), ex=UNDO_SECONDS)
    db.session.delete(template)
    return token


def restore(token: str, church_id: int) -> tuple[Template | None, str | None]:
    """Put a deleted template back, once; (template, None) or (None, why not)."""
    key = _KEY.format(token=(token or "")[:64])
    pipe = rds.client.pipeline(transaction=True)
    pipe.get(key)
    pipe.delete(key)
    raw, _ = pipe.execute()
    copy = json.loads(raw) if raw else None
    if not copy or copy["church_id"] != church_id:
        return None, "That template can no longer be restored."
    taken = db.session.scalar(select(Template.id).where(Template.church_id == church_id, Template.name == copy["name"]))
    if taken is not None:
        return None, f"A template named “{copy['name']}” exists now, so the deleted one was not restored."
    template = Template(**copy)
    db.session.add(template)
    return template, None
