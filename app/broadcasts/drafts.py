"""Sending a broadcast as the composer does, from plain values: the one path pages and the API share.

A `Draft` is what a person (through the composer's form) or a program (through /api/v1) asks
for. `send` narrows its audience to what the sender may address, refuses an audience nobody in
it can receive, and creates the broadcast or repeating schedule through the delivery engine
(`create_broadcast` / `create_schedule`: allowance, opted-out members left out, one text per
phone). `warnings` is the composer's confirmation step as sentences: deliverability checks,
quiet hours and the allowance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import select

from app.broadcasts.audience import (
    AudienceSpec,
    audience_counts,
    encode_filter,
    filter_options,
    single_branch_number,
)
from app.broadcasts.composer import Summary, normalise_newlines, summarise
from app.broadcasts.schedules import Recurrence, build_rule, create_schedule, next_run
from app.broadcasts.services import create_broadcast
from app.errors import PermissionDenied, ValidationError
from app.extensions import db
from app.models import Branch, Broadcast, Group, GroupLeader, Member, Schedule

MAX_MEDIA = 10
QUIET_HOURS_WARNING = "Inside quiet hours: it will wait until they end in the morning."
NO_AUDIENCE = "Choose who gets this: everyone, a group, a branch or people."
NOBODY_REACHABLE = "Nobody in this audience can receive texts (opted out or no phone)."


@dataclass
class Draft:
    """A broadcast as asked for: text, media, the audience as sent, and when (now, later or repeating)."""

    body: str
    audience: AudienceSpec
    media_urls: list[str] = field(default_factory=list)
    title: str | None = None
    send_at: datetime | None = None  # a one-off send later (UTC); None with no recurrence: now
    recurrence: Recurrence | None = None
    idempotency_key: str | None = None
    track_links: bool = False  # each recipient's text carries /l/<code> for each link (app.links)

    def first_send_at(self, tz: str) -> datetime | None:
        """When it first goes out, for the quiet-hours check (None: now)."""
        if self.recurrence is not None:
            return next_run(build_rule(self.recurrence), tz, datetime.now(UTC))
        return self.send_at


def led_group_ids(user) -> list[int]:
    """The groups a leader leads (the only ones they may text)."""
    return list(
        db.session.scalars(
            select(GroupLeader.group_id).where(GroupLeader.church_id == user.church_id, GroupLeader.user_id == user.id)
        )
    )


def refuse_beyond_led_groups(user, raw: AudienceSpec) -> None:
    """A leader who asks for anything beyond the groups they lead is refused, not silently trimmed."""
    if user.is_admin:
        return
    beyond = raw.everyone or raw.branch_ids or raw.member_ids or raw.filters
    if beyond or set(raw.group_ids) - set(led_group_ids(user)):
        raise PermissionDenied("Leaders may send only to the groups they lead.")


def _own(model, church_id: int, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    return set(db.session.scalars(select(model.id).where(model.church_id == church_id, model.id.in_(ids))))


def allowed_audience(
    user,
    raw: AudienceSpec,
    *,
    groups: set[int] | None = None,
    branches: set[int] | None = None,
    filters: set[str] | None = None,
) -> AudienceSpec:
    """The audience asked for, keeping only ids of the sender's church that they may address.

    Admins may pick everyone, any group, branch or member; leaders only the groups they lead.
    `groups` / `branches` / `filters` are what is already known to be allowed (the composer's
    choices); without them the database is asked about what was requested. Custom-field filters
    (admins only) must name one of the church's own fields and options.
    """
    if groups is None:
        groups = _own(Group, user.church_id, raw.group_ids)
        if not user.is_admin:
            groups &= set(led_group_ids(user))
    if branches is None:
        branches = _own(Branch, user.church_id, raw.branch_ids) if user.is_admin else set()
    members = _own(Member, user.church_id, raw.member_ids) if user.is_admin else set()
    if filters is None:
        filters = {value for value, _ in filter_options(user.church_id)} if user.is_admin and raw.filters else set()
    return AudienceSpec(
        everyone=raw.everyone and user.is_admin,
        group_ids=[g for g in raw.group_ids if g in groups],
        branch_ids=[b for b in raw.branch_ids if b in branches],
        member_ids=[m for m in raw.member_ids if m in members],
        filters=[f for f in raw.filters if encode_filter(f) in filters],
    )


def audience_problems(church_id: int, spec: AudienceSpec) -> list[str]:
    """Why this audience cannot be sent to: nothing chosen, or nobody in it reachable."""
    if spec.is_empty:
        return [NO_AUDIENCE]
    if audience_counts(church_id, spec).recipients == 0:
        return [NOBODY_REACHABLE]
    return []


def media_problem(urls: list[str]) -> str | None:
    """Why these media links cannot be sent (too many, not https), or None."""
    if len(urls) > MAX_MEDIA:
        return f"At most {MAX_MEDIA} links."
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.netloc:
            return f"“{url}” is not an https:// link to a picture or file."
    return None


def warnings(summary: Summary) -> list[str]:
    """What the confirmation step warns of, as sentences: each may be sent anyway."""
    found = [check.message for check in summary.checks if check.level == "warn"]
    if summary.quiet_hours:
        found.append(QUIET_HOURS_WARNING)
    return found


def summary_of(user, draft: Draft, spec: AudienceSpec) -> Summary:
    """The composer's summary of the draft to `spec`: counts, allowance, checks, quiet hours."""
    church = user.church
    return summarise(church, draft.body, draft.media_urls, spec, send_at=draft.first_send_at(church.timezone))


@dataclass
class Sent:
    """What `send` made, and (when asked for) the composer's summary of it just before it went."""

    result: Broadcast | Schedule
    spec: AudienceSpec
    summary: Summary | None = None


def send(user, draft: Draft, *, spec: AudienceSpec | None = None, summarise_first: bool = False) -> Sent:
    """Create the broadcast (now or at `send_at`) or the repeating schedule; idempotent on the draft's key.

    `spec` is the audience already narrowed by `allowed_audience` (the caller may have shown
    what was dropped); without it the draft's audience is narrowed here. Raises ValidationError
    (`details` naming the field) or PermissionDenied; nothing is written then.
    """
    church = user.church
    refuse_beyond_led_groups(user, draft.audience)
    spec = spec if spec is not None else allowed_audience(user, draft.audience)
    body = normalise_newlines(draft.body or "")
    if problem := media_problem(draft.media_urls):
        raise ValidationError(problem, details={"media_urls": [problem]})
    if problems := audience_problems(church.id, spec):
        raise ValidationError(problems[0], details={"audience": problems})
    if draft.send_at is not None and draft.send_at <= datetime.now(UTC):
        message = "That time has passed; pick a time in the future."
        raise ValidationError(message, details={"send_at": [message]})
    # The summary reads the audience before its recipients are written (first contacts among them).
    summary = summary_of(user, draft, spec) if summarise_first else None
    key = (draft.idempotency_key or "").strip()[:64] or None
    if draft.recurrence is not None:
        result = create_schedule(
            church,
            user,
            body=body,
            media_urls=draft.media_urls,
            audience=spec.to_dict(),
            rec=draft.recurrence,
            idempotency_key=key,
            track_links=draft.track_links,
        )
    else:
        result = create_broadcast(
            church,
            user,
            title=(draft.title or "").strip() or None,
            body=body,
            media_urls=draft.media_urls,
            spec=spec,
            idempotency_key=key,
            scheduled_at=draft.send_at,
            from_number=single_branch_number(church.id, spec),
            track_links=draft.track_links,
        )
    return Sent(result, spec, summary)
