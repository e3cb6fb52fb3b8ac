"""emit(): the one place a church's events become webhook deliveries (an outbox).

A change and the deliveries that report it commit together: each delivery is a row written in
the change's own transaction, one per subscribed endpoint, and a job is queued only after the
commit. A rollback leaves no event behind; a lost job leaves a row the sweep sends
(app.outbound_webhooks.delivery.sweep).

Set-based writers pass a SELECT that yields `church_id` and `data` (jsonb) per event, and one
INSERT … SELECT writes every delivery: an import of ten thousand members is one statement.
Each event has one id (`msg_…`, the `webhook-id` header), shared by its endpoints and kept
across retries, so a receiver can tell a retry from a new event.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from app.extensions import db
from app.jobs import enqueue_after_commit
from app.models.webhooks import EVENT_TYPES, TEST_EVENT

QUEUE = "default"
DELIVER_JOB = "app.outbound_webhooks.delivery.deliver"
SWEEP_JOB = "app.outbound_webhooks.delivery.sweep"
# More deliveries than this from one statement are handed to the sweep (which enqueues in bulk)
# rather than queued one job each inside the commit hook.
DIRECT_JOBS = 20


def iso_sql(expr: str) -> str:
    """SQL for a timestamptz as the events write times: ISO 8601 in UTC, with microseconds."""
    return f"to_char({expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"


_EVENT_ID = "'msg_' || replace(gen_random_uuid()::text, '-', '')"
_BODY = "jsonb_build_object('type', CAST(:event_type AS text), 'timestamp', {now}, 'data', {data})"
_INSERT = """
WITH ev AS MATERIALIZED (
    SELECT {event_id} AS event_id, church_id, data
    FROM ({select}) AS source
)
INSERT INTO webhook_deliveries (church_id, endpoint_id, event_id, event_type, payload, next_attempt_at)
SELECT e.church_id, e.id, ev.event_id, CAST(:event_type AS text), {body}, now()
FROM ev JOIN webhook_endpoints e ON e.church_id = ev.church_id
WHERE e.state <> 'disabled' AND CAST(:event_type AS text) = ANY(e.events)
RETURNING id
"""

_SUBSCRIBED = text(
    "SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE state <> 'disabled' "
    "AND CAST(:event_type AS text) = ANY(events) AND (CAST(:church_id AS bigint) IS NULL OR church_id = :church_id))"
)


def subscribed(event_type: str, church_id: int | None = None) -> bool:
    """Whether any endpoint (of the church, or of any church) takes this event: nothing to do otherwise."""
    return bool(db.session.scalar(_SUBSCRIBED, {"event_type": event_type, "church_id": church_id}))


def emit(church_id: int, event_type: str, data: dict[str, Any]) -> int:
    """Report one event of a church to its endpoints, in the current transaction; returns deliveries made."""
    if not subscribed(event_type, church_id):
        return 0
    select = "SELECT CAST(:church_id AS bigint) AS church_id, CAST(:data AS jsonb) AS data"
    return _insert(event_type, select, {"church_id": church_id, "data": json.dumps(data, default=_plain)})


def emit_select(event_type: str, select: str, params: dict[str, Any]) -> int:
    """Report the events a SELECT yields (columns `church_id`, `data` jsonb) in one statement."""
    if not subscribed(event_type):
        return 0
    return _insert(event_type, select, params)


def _insert(event_type: str, select: str, params: dict[str, Any]) -> int:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type}")
    body = _BODY.format(now=iso_sql("now()"), data="ev.data")
    sql = _INSERT.format(select=select, event_id=_EVENT_ID, body=body)
    ids = list(db.session.scalars(text(sql), {**params, "event_type": event_type}))
    queue_deliveries(ids)
    return len(ids)


def emit_test(church_id: int, endpoint_id: int, data: dict[str, Any]) -> int:
    """A `webhook.test` event for one endpoint, whatever it subscribes to; returns the delivery's id."""
    body = _BODY.format(now=iso_sql("now()"), data="CAST(:data AS jsonb)")
    delivery_id = db.session.scalar(
        text(
            "INSERT INTO webhook_deliveries (church_id, endpoint_id, event_id, event_type, payload, next_attempt_at) "
            f"VALUES (:church_id, :endpoint_id, {_EVENT_ID}, CAST(:event_type AS text), {body}, now()) RETURNING id"
        ),
        {"church_id": church_id, "endpoint_id": endpoint_id, "event_type": TEST_EVENT, "data": json.dumps(data)},
    )
    queue_deliveries([delivery_id])
    return delivery_id


def queue_deliveries(ids: list[int]) -> None:
    """Queue the sends of new delivery rows once the transaction commits."""
    if not ids:
        return
    if len(ids) > DIRECT_JOBS:
        enqueue_after_commit(QUEUE, SWEEP_JOB, job_timeout=120, result_ttl=0)
        return
    for delivery_id in ids:
        enqueue_after_commit(QUEUE, DELIVER_JOB, delivery_id, job_timeout=60, result_ttl=0, failure_ttl=86400)


def iso(at: datetime | None) -> str | None:
    """A time as the events carry it: ISO 8601 in UTC."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


# --- the events, with their bodies' `data` ----------------------------------------------------
# Each is called from the one place its change is made; docs/api.md shows the bodies.

# A member as the API shows one, plus how they came to be on the list.
_MEMBER_SQL = (
    "jsonb_build_object('id', m.id, 'first_name', m.first_name, 'last_name', m.last_name, "
    "'phone', m.phone_e164, 'email', m.email, 'opted_out', m.opted_out_at IS NOT NULL)"
)


def member_data(member: Any) -> dict[str, Any]:
    return {
        "id": member.id,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "phone": member.phone_e164,
        "email": member.email,
        "opted_out": member.opted_out_at is not None,
    }


def member_created(member: Any, source: str) -> int:
    """`member.created`: one member added (form, api, card, or `inbound` for a stranger's text)."""
    return emit(member.church_id, "member.created", {**member_data(member), "source": source})


def members_imported(church_id: int) -> int:
    """`member.created` for each member a CSV import inserted (its `import_applied` table), set-based."""
    select = (
        f"SELECT m.church_id, {_MEMBER_SQL} || jsonb_build_object('source', 'import') AS data "
        "FROM import_applied a JOIN members m ON m.id = a.member_id "
        "WHERE a.inserted AND m.church_id = :church_id ORDER BY m.id"
    )
    return emit_select("member.created", select, {"church_id": church_id})


def member_opted_out(member: Any, source: str, keyword: str | None, number: str | None, at: datetime) -> int:
    """`member.opted_out`: the member texted a stop word (source `keyword`)."""
    data = {"member": member_data(member), "source": source, "keyword": keyword, "number": number, "at": iso(at)}
    return emit(member.church_id, "member.opted_out", data)


def members_blocked(member_ids: list[int], number: str | None) -> int:
    """`member.opted_out` for members the provider refused to text (they had texted STOP to it)."""
    select = (
        f"SELECT m.church_id, jsonb_build_object('member', {_MEMBER_SQL}, 'source', 'provider_block', "
        "'keyword', NULL, 'number', CAST(:number AS text), "
        f"'at', {iso_sql('m.opted_out_at')}) AS data "
        "FROM members m WHERE m.id = ANY(CAST(:member_ids AS bigint[])) ORDER BY m.id"
    )
    return emit_select("member.opted_out", select, {"member_ids": sorted(member_ids), "number": number})


def message_received(message: Any, member: Any, to_number: str) -> int:
    """`message.received`: an inbound text, stored in its conversation."""
    data = {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "member": member_data(member),
        "from": member.phone_e164,
        "to": to_number,
        "body": message.body,
        "media": [{"url": m.get("url"), "content_type": m.get("content_type")} for m in message.media or []],
        "received_at": iso(message.created_at),
    }
    return emit(message.church_id, "message.received", data)


def broadcasts_completed(broadcast_ids: list[int]) -> int:
    """`broadcast.completed`: no recipient of the broadcast is queued or sending any more."""
    select = (
        "SELECT b.church_id, jsonb_build_object('id', b.id, 'title', b.title, 'body', b.body, "
        "'recipients', b.recipient_count, 'sent', b.sent_count, 'delivered', b.delivered_count, "
        "'failed', b.failed_count, 'skipped', b.skipped_count, 'unknown', b.unknown_count, "
        f"'completed_at', {iso_sql('b.completed_at')}) AS data "
        "FROM broadcasts b WHERE b.id = ANY(CAST(:broadcast_ids AS bigint[])) ORDER BY b.id"
    )
    return emit_select("broadcast.completed", select, {"broadcast_ids": sorted(broadcast_ids)})
