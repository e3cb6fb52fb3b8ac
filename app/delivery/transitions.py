"""Status transitions of outbound recipients and what follows from them: counters and daily stats.

Each set-based statement in the delivery engine returns every row's old and new status; the
broadcast counters and daily stats are adjusted from those transitions here, so counters stay
equal to "how many recipients are in each status" however writers race.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import text

from app import cache, stats
from app.extensions import db
from app.usage import record_usage

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


@dataclass(slots=True)
class Transition:
    broadcast_id: int
    church_id: int
    was: str
    now: str
    segments: int


def counter_deltas(transitions: Iterable[Transition]) -> dict[int, Counter[str]]:
    """Per broadcast, how each status counter moves: -1 for the status left, +1 for the one reached."""
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
    churches = db.session.scalars(
        text(
            f"UPDATE broadcasts b SET {sets} FROM unnest(CAST(:ids AS bigint[]), {arrays}) "
            f"AS v(id, {', '.join(columns)}) WHERE b.id = v.id RETURNING b.church_id"
        ),
        params,
    ).all()
    cache.bump(*{("broadcasts", church_id) for church_id in churches})


def church_days(church_ids: Iterable[int]) -> dict[int, object]:
    """Today's date in each church's timezone (the daily_stats day), one query for all."""
    ids = sorted(set(church_ids))
    if not ids:
        return {}
    zones = db.session.execute(text("SELECT id, timezone FROM churches WHERE id = ANY(:ids)"), {"ids": ids}).all()
    return {cid: stats.church_day(tz or "UTC") for cid, tz in zones}


def record_stats(transitions: list[Transition], *, from_worker: bool) -> None:
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
    days = church_days(per_church)
    for church_id, counts in per_church.items():
        stats.bump(church_id, days[church_id], **counts)  # type: ignore[arg-type]
        record_usage(church_id, counts.get("segments", 0))


def transitions_from_rows(rows) -> list[Transition]:
    """Transitions from RETURNING rows (broadcast_id, church_id, old status, new status, segments)."""
    return [Transition(r[0], r[1], r[2], r[3], int(r[4] or 1)) for r in rows]
