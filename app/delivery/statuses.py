"""Provider statuses (message.sent / message.finalized) applied to recipients and inbox messages.

A status only moves a row forward (see RANK_SQL); ids that match nothing yet are reconciled
against rows a lost worker left in `unknown`, or returned for the caller to retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import text

from app import cache
from app.delivery.transitions import RANK_SQL, bump_counters, counter_deltas, record_stats, transitions_from_rows
from app.errors import RetryLater
from app.extensions import db
from app.models import WebhookEvent

# Telnyx `to[].status` in message.finalized -> our terminal status.
FINAL_STATUS = {
    "delivered": "delivered",
    "delivery_failed": "failed",
    "sending_failed": "failed",
    "expired": "failed",
    # No receipt from the carrier: it left Telnyx, which is all we know.
    "delivery_unconfirmed": "sent",
}


@dataclass(slots=True)
class StatusUpdate:
    """A provider's word on one message (from message.sent / message.finalized)."""

    provider_message_id: str
    status: str  # sent | delivered | failed
    error_code: str | None = None
    cost: Decimal | None = None
    segments: int | None = None
    at: datetime | None = None
    to: str | None = None
    from_: str | None = None


def status_update_from_event(event_type: str, payload: dict) -> StatusUpdate | None:
    """Read a message.sent / message.finalized payload; None when it says nothing new."""
    message_id = payload.get("id")
    if not message_id:
        return None
    to = (payload.get("to") or [{}])[0] or {}
    raw = str(to.get("status") or "")
    if event_type == "message.sent":
        status = "sent"
    else:
        status = FINAL_STATUS.get(raw) or ("delivered" if raw == "delivered" else None)
        if status is None:
            return None
    errors = payload.get("errors") or []
    code = None
    if status == "failed":
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        code = str(first.get("code") or raw or "delivery_failed")
    elif raw == "delivery_unconfirmed":
        code = raw
    cost_obj = payload.get("cost") or {}
    cost = None
    if isinstance(cost_obj, dict) and cost_obj.get("amount") not in (None, ""):
        try:
            cost = Decimal(str(cost_obj["amount"]))
        except ArithmeticError:
            cost = None
    at_raw = payload.get("completed_at") if event_type == "message.finalized" else payload.get("sent_at")
    try:
        at = datetime.fromisoformat(at_raw) if at_raw else None
    except (TypeError, ValueError):
        at = None
    parts = payload.get("parts")
    return StatusUpdate(
        provider_message_id=str(message_id),
        status=status,
        error_code=code,
        cost=cost,
        segments=int(parts) if isinstance(parts, int) and parts > 0 else None,
        at=at or datetime.now(UTC),
        to=to.get("phone_number"),
        from_=(payload.get("from") or {}).get("phone_number") if isinstance(payload.get("from"), dict) else None,
    )


def handle_status(payload: dict, event: WebhookEvent) -> None:
    """One message.sent / message.finalized event (the webhook processor applies them in bulk)."""
    update = status_update_from_event(event.event_type, payload)
    if update is not None and update.provider_message_id not in apply_statuses([update]):
        raise RetryLater("unknown message id")


def _collapse(updates: list[StatusUpdate]) -> list[StatusUpdate]:
    """One update per message id (the furthest along), since UPDATE … FROM takes one row each."""
    rank = {"sent": 2, "delivered": 3, "failed": 3}
    best: dict[str, StatusUpdate] = {}
    for u in updates:
        cur = best.get(u.provider_message_id)
        if cur is None or rank[u.status] > rank[cur.status]:
            best[u.provider_message_id] = u
    return list(best.values())


def _status_params(updates: list[StatusUpdate]) -> dict:
    return {
        "pmids": [u.provider_message_id for u in updates],
        "statuses": [u.status for u in updates],
        "codes": [u.error_code for u in updates],
        "costs": [u.cost for u in updates],
        "parts": [u.segments for u in updates],
        "ats": [u.at for u in updates],
    }


_V = """
  v AS (
    SELECT * FROM unnest(CAST(:pmids AS text[]), CAST(:statuses AS text[]), CAST(:codes AS text[]),
                         CAST(:costs AS numeric[]), CAST(:parts AS int[]), CAST(:ats AS timestamptz[]))
      AS v(pmid, status, code, cost, parts, at)
  )"""


def apply_statuses(updates: list[StatusUpdate]) -> set[str]:
    """Apply provider statuses to broadcast recipients and inbox messages; return matched ids.

    Ids that match nothing yet (the send result is still being written, or the worker died
    before writing it) are returned missing, for the caller to retry or reconcile.
    """
    updates = _collapse(updates)
    if not updates:
        return set()
    params = _status_params(updates)
    matched = set(
        db.session.scalars(
            text(
                "SELECT provider_message_id FROM broadcast_recipients WHERE provider_message_id = ANY(:p) "
                "UNION ALL SELECT provider_message_id FROM conversation_messages WHERE provider_message_id = ANY(:p)"
            ),
            {"p": params["pmids"]},
        )
    )
    unmatched = [u for u in updates if u.provider_message_id not in matched]
    if unmatched:
        matched |= _reconcile_lost_sends(unmatched)
    if not matched:
        return matched
    rows = db.session.execute(
        text(
            f"""
            WITH {_V}, old AS (
              SELECT r.id, r.status FROM broadcast_recipients r JOIN v ON r.provider_message_id = v.pmid
              FOR UPDATE OF r
            )
            UPDATE broadcast_recipients r SET
              status = v.status,
              error_code = CASE WHEN v.code IS NOT NULL THEN v.code ELSE r.error_code END,
              cost = COALESCE(v.cost, r.cost), segments = COALESCE(v.parts, r.segments),
              sent_at = COALESCE(r.sent_at, v.at),
              delivered_at = CASE WHEN v.status = 'delivered' THEN v.at ELSE r.delivered_at END,
              failed_at = CASE WHEN v.status = 'failed' THEN v.at ELSE r.failed_at END,
              updated_at = now()
            FROM v JOIN old ON true
            WHERE r.provider_message_id = v.pmid AND old.id = r.id
              AND {RANK_SQL.format(col="old.status")} < {RANK_SQL.format(col="v.status")}
            RETURNING r.broadcast_id, r.church_id, old.status, r.status, r.segments
            """
        ),
        params,
    ).all()
    transitions = transitions_from_rows(rows)
    bump_counters(counter_deltas(transitions))
    record_stats(transitions, from_worker=False)
    _apply_to_conversations(params)
    return matched


def _apply_to_conversations(params: dict) -> None:
    changed = db.session.execute(
        text(
            f"""
            WITH {_V}
            UPDATE conversation_messages m SET
              status = v.status,
              error_code = CASE WHEN v.code IS NOT NULL THEN v.code ELSE m.error_code END
            FROM v
            WHERE m.provider_message_id = v.pmid AND m.direction = 'out'
              AND {RANK_SQL.format(col="m.status")} < {RANK_SQL.format(col="v.status")}
            RETURNING m.church_id, m.conversation_id
            """
        ),
        params,
    ).all()
    # Set-based, so the cache registry does not see it: the threads (and the live poll) move on commit.
    cache.bump(*(("conversation", church_id, conversation_id) for church_id, conversation_id in changed))


def _reconcile_lost_sends(updates: list[StatusUpdate]) -> set[str]:
    """Give provider ids to reaped rows (worker died after the send, before writing the id).

    Matched on destination and sending number among rows in `unknown` without an id, the
    most recently claimed first. Returns the ids that found their row.
    """
    found: set[str] = set()
    for u in updates:
        if not u.to or not u.from_:
            continue
        row = db.session.execute(
            text(
                "UPDATE broadcast_recipients SET provider_message_id = :pmid WHERE id = ("
                " SELECT r.id FROM broadcast_recipients r JOIN broadcasts b ON b.id = r.broadcast_id"
                " WHERE r.status = 'unknown' AND r.provider_message_id IS NULL AND r.to_e164 = :to"
                " AND b.from_number = :from ORDER BY r.claimed_at DESC NULLS LAST LIMIT 1"
                " FOR UPDATE OF r SKIP LOCKED) RETURNING id"
            ),
            {"pmid": u.provider_message_id, "to": u.to, "from": u.from_},
        ).first()
        if row is not None:
            found.add(u.provider_message_id)
    return found
