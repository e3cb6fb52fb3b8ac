"""Set-based state changes of outbound messages: send results, provider statuses, the reaper.

Every change here is one statement over many rows (`UPDATE … FROM unnest(...)`) that returns
each row's old and new status, and the broadcast counters and daily stats are adjusted from
those transitions, so counters stay equal to "how many recipients are in each status" even
when a worker's write-back, a reaper and webhooks race for the same rows.

Statuses only move forward: queued < sending = unknown < sent < delivered = failed = skipped.
Provider statuses live in app.delivery.statuses and the transition bookkeeping in
app.delivery.transitions; import each name from the module that defines it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text

from app import stats
from app.cache import bump
from app.cache.registry import members_changed
from app.delivery.transitions import (
    Transition,
    bump_counters,
    church_days,
    counter_deltas,
    record_stats,
    transitions_from_rows,
)
from app.extensions import db
from app.outbound_webhooks import events as webhook_events

log = logging.getLogger(__name__)


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
    transitions = transitions_from_rows(rows)
    bump_counters(counter_deltas(transitions))
    record_stats(transitions, from_worker=True)
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
    by_church: dict[int, list[int]] = {}
    for member_id, church_id in rows:
        by_church.setdefault(church_id, []).append(member_id)
    for church_id, ids in by_church.items():
        members_changed(church_id, ids)  # their threads' reply boxes now say why they are off
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
    webhook_events.members_blocked([r[0] for r in rows], from_number)
    per_church = Counter(r[1] for r in rows)
    days = church_days(per_church)
    for church_id, n in per_church.items():
        stats.bump(church_id, days[church_id], opt_outs=n)  # type: ignore[arg-type]
    return len(rows)


def reap_stale_claims(older_than_seconds: int = 300) -> int:
    """Rows left in `sending` by a dead worker become `unknown`: never re-sent by themselves.

    The provider may or may not have them; status webhooks settle them later
    (see app.delivery.statuses._reconcile_lost_sends). Returns how many rows were reaped.
    """
    rows = db.session.execute(
        text(
            "UPDATE broadcast_recipients SET status = 'unknown', error_code = 'worker_lost', updated_at = now() "
            "WHERE status = 'sending' AND claimed_at < now() - make_interval(secs => :age) "
            "RETURNING broadcast_id, church_id, 'sending', 'unknown', segments"
        ),
        {"age": older_than_seconds},
    ).all()
    transitions = transitions_from_rows(rows)
    bump_counters(counter_deltas(transitions))
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
    rows = db.session.execute(
        text(
            "UPDATE broadcasts b SET status = 'sent', completed_at = now() "
            "WHERE b.id = ANY(:ids) AND b.status = 'sending' AND NOT EXISTS ("
            " SELECT 1 FROM broadcast_recipients r WHERE r.broadcast_id = b.id"
            " AND r.status IN ('queued', 'sending')) RETURNING b.id, b.church_id"
        ),
        {"ids": ids},
    ).all()
    bump(*{("broadcasts", church_id) for _, church_id in rows})
    finished = [broadcast_id for broadcast_id, _ in rows]
    if finished:
        webhook_events.broadcasts_completed(finished)
    return finished
