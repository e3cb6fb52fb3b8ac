"""Recurring broadcasts: RFC 5545 rules in the church's wall-clock time, and the tick that runs them.

A rule is stored as a DTSTART line and an RRULE line in the church's local time, without a
zone: "every Sunday at 9:00" must stay 9:00 across daylight-saving changes, so occurrences
are computed in local time and only then converted to UTC. `next_run_at` (UTC) is what the
tick compares with the clock.

The tick (`run_due_schedules`, a periodic job) creates each occurrence through
`create_broadcast(schedule_id=…, occurrence_at=…)` with a key derived from the occurrence,
and only then advances `next_run_at` with a compare-and-set. Two workers running the tick
at once both reach the same occurrence; the unique (schedule_id, occurrence_at) index and
the idempotency key let only one broadcast exist, and only one of them advances the row.
A crash between the two steps is repaired by the next tick (the create is idempotent).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from app import cache
from app.broadcasts.audience import AudienceSpec
from app.broadcasts.services import create_broadcast
from app.errors import AppError
from app.extensions import db
from app.models import Church, Schedule, User

log = logging.getLogger(__name__)

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_NAMES = dict(zip(WEEKDAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))
# An occurrence found more than this late (workers were down) is skipped, not sent late:
# "Sunday 9:00 service reminder" must not arrive on Tuesday.
MISSED_AFTER = timedelta(hours=1)


@dataclass(frozen=True)
class Recurrence:
    """What the composer's "repeat" choice says, in the church's local time."""

    freq: str  # "weekly" or "monthly"
    start: datetime  # naive local date and time of the first possible run
    until: date | None = None  # last day (inclusive, local); None repeats until turned off
    weekdays: tuple[str, ...] = ()
    month_day: int | None = None


def build_rule(rec: Recurrence) -> str:
    """The DTSTART + RRULE text stored on the schedule (local wall-clock time, no zone)."""
    parts = ["FREQ=WEEKLY" if rec.freq == "weekly" else "FREQ=MONTHLY"]
    if rec.freq == "weekly":
        days = [d for d in WEEKDAYS if d in rec.weekdays] or [WEEKDAYS[rec.start.weekday()]]
        parts.append("BYDAY=" + ",".join(days))
    else:
        day = rec.start.day if rec.month_day is None else rec.month_day
        if not 1 <= day <= 31:
            # The form checks the range; a rule must never spell out a range of 10**8 days.
            raise ValueError(f"month_day must be from 1 to 31, not {day}")
        if day <= 28:
            parts.append(f"BYMONTHDAY={day}")
        else:
            # "The 31st" in a 30-day month (or February) means the month's last day, not a skipped month.
            parts.append("BYMONTHDAY=" + ",".join(str(d) for d in range(28, day + 1)) + ";BYSETPOS=-1")
    if rec.until is not None:
        until_local = datetime.combine(rec.until, time(23, 59, 59))
        parts.append(f"UNTIL={until_local:%Y%m%dT%H%M%S}")
    return f"DTSTART:{rec.start:%Y%m%dT%H%M%S}\nRRULE:{';'.join(parts)}"


def next_run(rule: str, tz: str, after: datetime) -> datetime | None:
    """The first occurrence strictly after `after` (aware), in UTC; None when the rule has ended."""
    zone = ZoneInfo(tz)
    parsed = rrulestr(rule)
    cursor = after.astimezone(zone).replace(tzinfo=None)
    # Around a fall-back hour the naive local time is ambiguous; step until the UTC instant is later.
    for _ in range(4):
        local = parsed.after(cursor, inc=False)
        if local is None:
            return None
        at = local.replace(tzinfo=zone).astimezone(UTC)
        if at > after:
            return at
        cursor = local
    return None


def occurrences(rule: str, tz: str, after: datetime, limit: int = 5) -> list[datetime]:
    """The next `limit` runs in UTC (for the confirmation page and tests)."""
    found: list[datetime] = []
    cursor = after
    while len(found) < limit:
        at = next_run(rule, tz, cursor)
        if at is None:
            break
        found.append(at)
        cursor = at
    return found


def local_to_utc(day: date, at: time, tz: str) -> datetime:
    """A wall-clock date and time in `tz` as an aware UTC datetime."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def describe(rule: str) -> str:
    """A short human description: "Weekly on Sun, Wed at 9:00 AM until Dec 31, 2026"."""
    fields = dict(p.split("=", 1) for p in rule.split("RRULE:", 1)[1].split(";"))
    start = datetime.strptime(rule.split("\n", 1)[0].removeprefix("DTSTART:"), "%Y%m%dT%H%M%S")
    clock = start.strftime("%-I:%M %p")
    until = ""
    if "UNTIL" in fields:
        until = " until " + datetime.strptime(fields["UNTIL"], "%Y%m%dT%H%M%S").strftime("%b %-d, %Y")
    if fields["FREQ"] == "WEEKLY":
        days = ", ".join(WEEKDAY_NAMES[d] for d in fields.get("BYDAY", "").split(",") if d)
        return f"Weekly on {days} at {clock}{until}"
    days = fields.get("BYMONTHDAY", "").split(",")
    day = days[-1]
    suffix = "th" if 10 <= int(day) % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(int(day) % 10, "th")
    return f"Monthly on the {day}{suffix} at {clock}{until}"


def create_schedule(
    church: Church,
    user: User,
    *,
    body: str,
    media_urls: list[str],
    audience: dict,
    rec: Recurrence,
    idempotency_key: str | None = None,
    track_links: bool = False,
) -> Schedule:
    """Store a recurring broadcast; its first run is the first occurrence from now on.

    Idempotent on `idempotency_key`: the same submitted form returns the schedule it made.
    """
    if idempotency_key:
        existing = _by_key(church.id, idempotency_key)
        if existing is not None:
            return existing
    rule = build_rule(rec)
    now = datetime.now(UTC)
    values = {
        "church_id": church.id,
        "body": body,
        "media_urls": media_urls,
        "audience": audience,
        "rrule": rule,
        "next_run_at": next_run(rule, church.timezone, now - timedelta(seconds=1)),
        "until": None if rec.until is None else local_to_utc(rec.until, time(23, 59, 59), church.timezone),
        "enabled": True,
        "created_by_id": user.id,
        "idempotency_key": idempotency_key,
        "track_links": track_links,
    }
    # ON CONFLICT DO NOTHING: a concurrent double click inserts once; the loser reads the winner's row.
    new_id = db.session.scalar(
        insert(Schedule)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["church_id", "idempotency_key"])
        .returning(Schedule.id)
    )
    cache.bump(("broadcasts", church.id))
    db.session.commit()
    if new_id is None:
        return _by_key(church.id, idempotency_key)
    return db.session.get(Schedule, new_id)


def _by_key(church_id: int, key: str) -> Schedule | None:
    return db.session.scalar(select(Schedule).where(Schedule.church_id == church_id, Schedule.idempotency_key == key))


def set_enabled(schedule: Schedule, enabled: bool) -> None:
    """Pause or resume; resuming skips the occurrences that passed while paused."""
    schedule.enabled = enabled
    if enabled:
        church = db.session.get(Church, schedule.church_id)
        schedule.next_run_at = next_run(schedule.rrule, church.timezone, datetime.now(UTC))
    db.session.commit()


def delete_schedule(schedule: Schedule) -> None:
    """Remove the schedule; broadcasts it already made stay (their schedule_id becomes NULL)."""
    db.session.delete(schedule)
    db.session.commit()


def _sender(schedule: Schedule) -> User | None:
    """Who the occurrence is sent as: the schedule's author, else the church's owner."""
    if schedule.created_by_id:
        user = db.session.get(User, schedule.created_by_id)
        if user is not None:
            return user
    return db.session.scalar(
        select(User).where(User.church_id == schedule.church_id, User.role == "owner").order_by(User.id).limit(1)
    )


def run_schedule(schedule_id: int, occurrence: datetime, now: datetime) -> bool:
    """Create the broadcast for one occurrence (unless missed) and advance the schedule; True if created."""
    schedule = db.session.get(Schedule, schedule_id)
    if schedule is None or not schedule.enabled:  # deleted or paused since the tick read it
        return False
    church = db.session.get(Church, schedule.church_id)
    created, error = False, None
    if now - occurrence > MISSED_AFTER:
        error = f"Skipped the {occurrence:%Y-%m-%d %H:%M} UTC run: it was due while sending was down."
    else:
        try:
            create_broadcast(
                church,
                _sender(schedule),
                body=schedule.body,
                media_urls=list(schedule.media_urls or []),
                spec=AudienceSpec.from_dict(schedule.audience or {}),
                idempotency_key=f"schedule-{schedule.id}-{occurrence:%Y%m%dT%H%M%SZ}",
                scheduled_at=None,
                schedule_id=schedule.id,
                occurrence_at=occurrence,
                track_links=schedule.track_links,
            )
            created = True
        except AppError as exc:
            db.session.rollback()
            error = exc.message
            log.warning("schedule %s occurrence %s refused: %s", schedule_id, occurrence.isoformat(), exc.message)
    following = next_run(schedule.rrule, church.timezone, max(occurrence, now))
    # Compare-and-set: of two ticks that reached the same occurrence, one advances the row.
    db.session.execute(
        update(Schedule)
        .where(Schedule.id == schedule_id, Schedule.next_run_at == occurrence)
        .values(next_run_at=following, last_run_at=now, last_error=error, enabled=following is not None)
    )
    cache.bump(("broadcasts", church.id))
    db.session.commit()
    return created


def run_due_schedules(now: datetime | None = None, limit: int = 200) -> int:
    """Periodic job: run every enabled schedule whose next run is due; returns broadcasts created."""
    now = now or datetime.now(UTC)
    due = db.session.execute(
        select(Schedule.id, Schedule.next_run_at)
        .where(Schedule.enabled.is_(True), Schedule.next_run_at <= now)
        .order_by(Schedule.next_run_at)
        .limit(limit)
    ).all()
    db.session.rollback()
    created = 0
    for schedule_id, occurrence in due:
        try:
            created += run_schedule(schedule_id, occurrence, now)
        except Exception:  # one broken schedule must not stop the others
            db.session.rollback()
            log.exception("schedule %s failed", schedule_id)
    return created
