"""Set-based state changes of outbound messages: send results, provider statuses, the reaper.

Every change here is one statement over many rows (`UPDATE … FROM unnest(...)`) that returns
each row's old and new status, and the broadcast counters and daily stats are adjusted from
those transitions, so counters stay equal to "how many recipients are in each status" even
when a worker's write-back, a reaper and webhooks race for the same rows.

Statuses only move forward: queued < sending = unknown < sent < delivered = failed = skipped.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import text

from app import stats
from app.billing import allowance
from app.extensions import db, rds

log = logging.getLogger(__name__)

# Recipient status -> the broadcasts column counting rows currently in it.
COUNTERS = {
    "sent": "sent_count",
    "delivered": "delivered_count",
    "failed": "failed_count",
    "skipped": "skipped_count",
    "unknown": "unknown_count",
}
RANK_SQL = (
    "CASE {col} WHEN 'queued' THEN 0 WHEN 'sending' THEN 1 WHEN 'unknown' THEN 1 WHEN 'received' THEN 1 "
    "WHEN 'sent' THEN 2 ELSE 3 END"
)
# Telnyx `to[].status` in message.finalized -> our terminal status.
FINAL_STATUS = {
    "delivered": "delivered",
    "delivery_failed": "failed",
    "sending_failed": "failed",
    "expired": "failed",
    # No receipt from the carrier: it left Telnyx, which is all we know.
    "delivery_unconfirmed": "sent",
}
INBOX_VERSION_KEY = "koinonia:inbox:version:{church_id}"


@dataclass(slots=True)
class Outcome:
    """What happened to one claimed recipient in a worker."""

    id: int
    status: str  # sent | failed | unknown | skipped | queued (released: never reached the provider)
    provider_message_id: str | None = None
    error_code: str | None = None
    error_detail: str | None = None
    segments: int | None = None
    cost: Decimal | None = None
    opted_out_member_id: int | None = None
    dead: bool = False  # failed for good in a way an operator may want to replay


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


@dataclass(slots=True)
class Transition:
    broadcast_id: int
    church_id: int
    was: str
    now: str
    segments: int


def _counter_deltas(transitions: Iterable[Transition]) -> dict[int, Counter[str]]:
    deltas: dict[int, Counter[str]] = defaultdict(Counter)
    for t in transitions:
        if t.was == t.now:
            continue
        if t.was in COUNTERS:
            deltas[t.broadcast_id][COUNTERS[t.was]] -= 1
        if t.now in COUNTERS:
            deltas[t.broadcast_id][COUNTERS[t.now]] += 1
    return deltas


def bump_counters(deltas: dict[int, Counter[str]]) -> None:
    """Apply counter changes to many broadcasts in one statement."""
    rows = [(bid, *(d.get(c, 0) for c in COUNTERS.values())) for bid, d in deltas.items() if any(d.values())]
    if not rows:
        return
    columns = list(COUNTERS.values())
    sets = ", ".join(f"{c} = b.{c} + v.{c}" for c in columns)
    arrays = ", ".join(f"CAST(:{c} AS bigint[])" for c in columns)
    params = {"ids": [r[0] for r in rows], **{c: [r[i + 1] for r in rows] for i, c in enumerate(columns)}}
    db.session.execute(
        text(
            f"UPDATE broadcasts b SET {sets} FROM unnest(CAST(:ids AS bigint[]), {arrays}) "
            f"AS v(id, {', '.join(columns)}) WHERE b.id = v.id"
        ),
        params,
    )


def _church_days(church_ids: Iterable[int]) -> dict[int, object]:
    ids = sorted(set(church_ids))
    if not ids:
        return {}
    zones = db.session.execute(text("SELECT id, timezone FROM churches WHERE id = ANY(:ids)"), {"ids": ids}).all()
    return {cid: stats.church_day(tz or "UTC") for cid, tz in zones}


def _record_stats(transitions: list[Transition], *, from_worker: bool) -> None:
    """daily_stats and usage from transitions: accepted (sent), delivered, failed, segments."""
    per_church: dict[int, Counter[str]] = defaultdict(Counter)
    for t in transitions:
        if t.was == t.now:
            continue
        accepted = (
            t.was in ("queued", "sending", "unknown")
            and t.now in ("sent", "delivered")
            or (t.now == "failed" and t.was == "unknown" and not from_worker)
        )
        c = per_church[t.church_id]
        if accepted:
            c["sent"] += 1
            c["segments"] += t.segments or 1
        if t.now == "delivered":
            c["delivered"] += 1
        elif t.now == "failed":
            c["failed"] += 1
    days = _church_days(per_church)
    for church_id, counts in per_church.items():
        stats.bump(church_id, days[church_id], **counts)  # type: ignore[arg-type]
        allowance.record_usage(church_id, counts.get("segments", 0))


def _transitions(rows) -> list[Transition]:
    return [Transition(r[0], r[1], r[2], r[3], int(r[4] or 1)) for r in rows]


def write_outcomes(outcomes: list[Outcome], *, from_number: str | None = None) -> list[Transition]:
    """Write a worker's results back in one statement, then counters, stats, opt-outs.

    Only rows still `sending` (or reaped to `unknown` meanwhile) without a provider id are
    touched, so a result never overwrites what a webhook already settled.
    """
    if not outcomes:
        return []
    rows = db.session.execute(
        text(
            """
            WITH v AS (
              SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:pmids AS text[]),
                                   CAST(:codes AS text[]), CAST(:details AS text[]), CAST(:parts AS int[]),
                                   CAST(:costs AS numeric[]))
                AS v(id, status, pmid, code, detail, parts, cost)
            ), old AS (
              SELECT r.id, r.status FROM broadcast_recipients r JOIN v ON v.id = r.id
              WHERE r.status IN ('sending', 'unknown') AND r.provider_message_id IS NULL
              FOR UPDATE OF r
            )
            UPDATE broadcast_recipients r SET
              status = v.status, provider_message_id = v.pmid, error_code = v.code, error_detail = v.detail,
              segments = COALESCE(v.parts, r.segments), cost = COALESCE(v.cost, r.cost),
              sent_at = CASE WHEN v.status = 'sent' THEN now() ELSE r.sent_at END,
              failed_at = CASE WHEN v.status = 'failed' THEN now() ELSE r.failed_at END,
              claimed_at = CASE WHEN v.status = 'queued' THEN NULL ELSE r.claimed_at END,
              updated_at = now()
            FROM v JOIN old ON old.id = v.id
            WHERE r.id = v.id
            RETURNING r.broadcast_id, r.church_id, old.status, r.status, r.segments
            """
        ),
        {
            "ids": [o.id for o in outcomes],
            "statuses": [o.status for o in outcomes],
            "pmids": [o.provider_message_id for o in outcomes],
            "codes": [o.error_code for o in outcomes],
            "details": [(o.error_detail or None) and o.error_detail[:500] for o in outcomes],
            "parts": [o.segments for o in outcomes],
            "costs": [o.cost for o in outcomes],
        },
    ).all()
    transitions = _transitions(rows)
    bump_counters(_counter_deltas(transitions))
    _record_stats(transitions, from_worker=True)
    blocked = [o.opted_out_member_id for o in outcomes if o.opted_out_member_id]
    if blocked:
        record_provider_opt_outs(blocked, from_number)
    return transitions


def record_provider_opt_outs(member_ids: list[int], from_number: str | None) -> int:
    """Telnyx refused with 40300 (the person texted STOP): opt them out, with a ledger entry."""
    rows = db.session.execute(
        text(
            "UPDATE members SET opted_out_at = now() WHERE id = ANY(:ids) AND opted_out_at IS NULL "
            "RETURNING id, church_id"
        ),
        {"ids": sorted(set(member_ids))},
    ).all()
    if not rows:
        return 0
    db.session.execute(
        text(
            "INSERT INTO consent_events (church_id, member_id, action, source, keyword, phone_number, detail) "
            "SELECT c, m, 'opt_out', 'provider_block', NULL, :number, :detail "
            "FROM unnest(CAST(:churches AS bigint[]), CAST(:members AS bigint[])) AS v(c, m)"
        ),
        {
            "churches": [r[1] for r in rows],
            "members": [r[0] for r in rows],
            "number": from_number,
            "detail": "The provider refused to send (error 40300: the person had texted STOP).",
        },
    )
    per_church = Counter(r[1] for r in rows)
    days = _church_days(per_church)
    for church_id, n in per_church.items():
        stats.bump(church_id, days[church_id], opt_outs=n)  # type: ignore[arg-type]
    return len(rows)


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
    transitions = _transitions(rows)
    bump_counters(_counter_deltas(transitions))
    _record_stats(transitions, from_worker=False)
    _apply_to_conversations(params)
    return matched


def _apply_to_conversations(params: dict) -> None:
    churches = db.session.scalars(
        text(
            f"""
            WITH {_V}
            UPDATE conversation_messages m SET
              status = v.status,
              error_code = CASE WHEN v.code IS NOT NULL THEN v.code ELSE m.error_code END
            FROM v
            WHERE m.provider_message_id = v.pmid AND m.direction = 'out'
              AND {RANK_SQL.format(col="m.status")} < {RANK_SQL.format(col="v.status")}
            RETURNING m.church_id
            """
        ),
        params,
    ).all()
    changed = set(churches)
    if changed:
        try:
            pipe = rds.client.pipeline(transaction=False)
            for church_id in changed:
                pipe.incr(INBOX_VERSION_KEY.format(church_id=church_id))
            pipe.execute()
        except Exception:  # noqa: BLE001 - the inbox refreshes on its next poll anyway
            log.warning("could not bump inbox versions")


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


def reap_stale_claims(older_than_seconds: int = 300) -> int:
    """Rows left in `sending` by a dead worker become `unknown`: never re-sent by themselves.

    The provider may or may not have them; status webhooks settle them later
    (see _reconcile_lost_sends). Returns how many rows were reaped.
    """
    rows = db.session.execute(
        text(
            "UPDATE broadcast_recipients SET status = 'unknown', error_code = 'worker_lost', updated_at = now() "
            "WHERE status = 'sending' AND claimed_at < now() - make_interval(secs => :age) "
            "RETURNING broadcast_id, church_id, 'sending', 'unknown', segments"
        ),
        {"age": older_than_seconds},
    ).all()
    transitions = _transitions(rows)
    bump_counters(_counter_deltas(transitions))
    finish_broadcasts({t.broadcast_id for t in transitions})
    db.session.commit()
    if rows:
        log.warning("reaped %d recipients left in sending by a lost worker", len(rows))
    return len(rows)


def finish_broadcasts(broadcast_ids: Iterable[int]) -> list[int]:
    """Mark broadcasts sent once none of their recipients is queued or sending."""
    ids = sorted(set(broadcast_ids))
    if not ids:
        return []
    return list(
        db.session.scalars(
            text(
                "UPDATE broadcasts b SET status = 'sent', completed_at = now() "
                "WHERE b.id = ANY(:ids) AND b.status = 'sending' AND NOT EXISTS ("
                " SELECT 1 FROM broadcast_recipients r WHERE r.broadcast_id = b.id"
                " AND r.status IN ('queued', 'sending')) RETURNING b.id"
            ),
            {"ids": ids},
        )
    )
