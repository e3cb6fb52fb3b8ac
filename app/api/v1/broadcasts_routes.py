"""/api/v1/broadcasts: send or schedule through the composer's own path, follow the counts, cancel."""

from __future__ import annotations

import hashlib

from flask import abort, request
from flask.views import MethodView

from app.api.v1 import message_schemas as schemas
from app.api.v1.auth import actor, blueprint, requires
from app.api.v1.idempotency import HEADER
from app.api.v1.paging import decode_cursor, page_of
from app.api.v1.schemas import PageArgs
from app.broadcasts import drafts
from app.broadcasts.audience import AudienceSpec
from app.broadcasts.services import broadcast_progress, cancel_broadcast
from app.errors import Conflict, ValidationError
from app.extensions import db
from app.models import Broadcast
from app.tenancy import scoped

# Named apart from the pages' own "broadcasts" blueprint (Flask names must be unique); it is the
# operations' tag in the document.
blp = blueprint(
    "api_broadcasts",
    "Texts to many members at once: the composer's checks, allowance and quiet hours, and live counts.",
)

COUNTS = ("total", "queued", "sent", "delivered", "failed", "skipped", "unknown")


def view(broadcast: Broadcast) -> dict:
    """A broadcast as the API shows it, its counts read now."""
    progress = broadcast_progress(broadcast)
    return {
        "id": broadcast.id,
        "title": broadcast.title,
        "body": broadcast.body,
        "media_urls": list(broadcast.media_urls or []),
        "track_links": bool(broadcast.track_links),
        "status": broadcast.status,
        "audience": AudienceSpec.from_dict(broadcast.audience).to_dict(),
        "from_number": broadcast.from_number,
        "scheduled_at": broadcast.scheduled_at,
        "started_at": broadcast.started_at,
        "completed_at": broadcast.completed_at,
        "created_at": broadcast.created_at,
        "counts": {name: progress[name] for name in COUNTS},
        "done": progress["done"],
    }


def _broadcast(broadcast_id: int) -> Broadcast:
    broadcast = db.session.scalar(scoped(Broadcast, actor().church_id).where(Broadcast.id == broadcast_id))
    if broadcast is None:
        abort(404)
    return broadcast


def _draft(fields: dict) -> drafts.Draft:
    key = request.headers.get(HEADER)
    return drafts.Draft(
        body=fields["body"],
        audience=AudienceSpec.from_dict(fields["audience"]),
        media_urls=fields["media_urls"],
        title=fields.get("title"),
        send_at=fields.get("send_at"),
        track_links=fields.get("track_links", False),
        # The broadcast's own key (unique per church) repeats the API's, so even a retry after the
        # stored answer expired finds the broadcast it made instead of sending twice.
        idempotency_key=f"api:{actor().key.id}:{hashlib.sha256(key.encode()).hexdigest()[:40]}" if key else None,
    )


def _refuse_unknown(raw: AudienceSpec, allowed: AudienceSpec) -> None:
    """422 naming the ids that are not this church's (the composer's page drops them silently)."""
    details = {}
    for name in ("group_ids", "branch_ids", "member_ids"):
        unknown = sorted(set(getattr(raw, name)) - set(getattr(allowed, name)))
        if unknown:
            details[name] = [f"Not in this church: {', '.join(map(str, unknown[:20]))}."]
    if details:
        raise ValidationError("Some fields need fixing.", details={"audience": details})


@blp.route("/broadcasts")
class Broadcasts(MethodView):
    @blp.arguments(PageArgs, location="query", as_kwargs=True)
    @blp.response(200, schemas.BroadcastPage)
    @requires("read")
    def get(self, limit: int, cursor: str | None = None):
        """List broadcasts, newest first, with their counts. Scope: `read`."""
        found = page_of(
            scoped(Broadcast, actor().church_id), Broadcast.id, decode_cursor(cursor), limit, newest_first=True
        )
        return {**found, "data": [view(b) for b in found["data"]]}

    @blp.arguments(schemas.BroadcastInputSchema)
    @blp.response(201, schemas.BroadcastCreatedSchema)
    @requires("messages:send")
    def post(self, fields: dict):
        """Send a broadcast now, or at `send_at`, through the composer's checks. Scope: `messages:send`.

        Opted-out members and those without a phone are left out (`left_out`); a number reached
        twice gets one text. Over the plan's allowance, or with nobody reachable, it answers 422
        and nothing is sent. `warnings` are the composer's: it was sent anyway. Inside the church's
        quiet hours it waits until they end.
        """
        draft = _draft(fields)
        spec = drafts.allowed_audience(actor(), draft.audience)
        _refuse_unknown(draft.audience, spec)
        sent = drafts.send(actor(), draft, spec=spec, summarise_first=True)
        counts = sent.summary.counts
        return {
            "data": view(sent.result),
            "warnings": drafts.warnings(sent.summary),
            "left_out": {"opted_out": counts.opted_out, "no_phone": counts.no_phone},
        }


@blp.route("/broadcasts/<int:broadcast_id>", methods=["GET"])
@blp.response(200, schemas.BroadcastOne)
@requires("read")
def get_broadcast(broadcast_id: int):
    """One broadcast with its live counts. Scope: `read`."""
    return {"data": view(_broadcast(broadcast_id))}


@blp.route("/broadcasts/<int:broadcast_id>/cancel", methods=["POST"])
@blp.response(200, schemas.BroadcastOne)
@requires("messages:send")
def cancel(broadcast_id: int):
    """Stop a scheduled or sending broadcast: nobody else gets it (409 once it has finished). Scope: `messages:send`."""
    broadcast = _broadcast(broadcast_id)
    try:
        cancel_broadcast(broadcast, actor())
    except ValidationError as err:
        raise Conflict(err.message, details={"status": [broadcast.status]}) from None
    return {"data": view(broadcast)}
