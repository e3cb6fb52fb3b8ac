"""What the composer needs from the database, and who may do what.

Kept out of routes.py so the views stay a few lines each; everything here takes plain values
(a church id, a user, a form) and answers with rows or dictionaries for the templates.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import abort
from sqlalchemy import func, or_, select

from app.broadcasts import drafts
from app.broadcasts.audience import (
    AudienceSpec,
    encode_filter,
    filter_label,
    filter_options,
)
from app.broadcasts.composer import normalise_newlines, summarise
from app.broadcasts.forms import MAX_BODY, ComposerForm
from app.broadcasts.schedules import build_rule, describe, occurrences
from app.broadcasts.services import counted_body
from app.broadcasts.tracked_links import base_url, spans
from app.delivery.segments import SMART_REPLACEMENTS
from app.extensions import db
from app.models import (
    Branch,
    Broadcast,
    Group,
    Member,
    Schedule,
    Template,
)
from app.models.base import escape_like
from app.people.custom_fields import church_fields, merge_fields

# ---- permissions ----------------------------------------------------------------------------


def can_compose(user) -> bool:
    """Owners and admins compose; leaders only when the church lets them."""
    return user.can_compose


def can_manage(user, obj: Broadcast | Schedule) -> bool:
    """Admins manage any broadcast; a leader only the ones they made, while leaders may send."""
    return user.is_admin or (user.church.leaders_can_send and obj.created_by_id == user.id)


def require_composer(user) -> None:
    """403 unless the user may compose (pages show the composer's buttons only to those who may)."""
    if not can_compose(user):
        abort(403)


def require_sender(user, obj: Broadcast | Schedule) -> None:
    """403 unless the user may cancel, pause or delete this broadcast or schedule."""
    if not can_manage(user, obj):
        abort(403)


def set_choices(form: ComposerForm, user) -> None:
    """Groups and branches the user may pick: all for admins, only their own groups for leaders."""
    groups = select(Group.id, Group.name).where(Group.church_id == user.church_id).order_by(Group.name)
    if not user.is_admin:
        groups = groups.where(Group.id.in_(drafts.led_group_ids(user)))
    form.group_ids.choices = [(gid, name) for gid, name in db.session.execute(groups)]
    if user.is_admin:
        branches = select(Branch.id, Branch.name).where(Branch.church_id == user.church_id).order_by(Branch.name)
        form.branch_ids.choices = [(bid, name) for bid, name in db.session.execute(branches)]
        form.field_filters.choices = filter_options(user.church_id)
    else:
        form.branch_ids.choices = []
        form.field_filters.choices = []


def spec_for(form: ComposerForm, user) -> AudienceSpec:
    """The posted audience, keeping only ids this user may address (others' ids are dropped)."""
    raw = AudienceSpec.from_dict(form.audience_dict())
    groups = {gid for gid, _ in form.group_ids.choices}
    branches = {bid for bid, _ in form.branch_ids.choices}
    filters = {value for value, _ in form.field_filters.choices}
    return drafts.allowed_audience(user, raw, groups=groups, branches=branches, filters=filters)


# ---- composer -------------------------------------------------------------------------------


def composer_context(form: ComposerForm, user, **extra) -> dict:
    """Template context for the composer page and each of its partials."""
    church = user.church
    # Bounds first: nothing below may read an over-long body or an out-of-range number.
    form.check_bounds()
    spec = spec_for(form, user)
    send_at = draft_of(form, church.timezone).first_send_at(church.timezone)
    body = form.usable_body()
    typed = normalise_newlines(body)
    links = spans(typed)
    counted = counted_body(typed, links) if form.track_links.data else None
    # The church's merge fields, read once: the counter's estimate, the preview and the insert buttons.
    custom = merge_fields(church.id)
    summary = summarise(church, body, form.media_list(), spec, send_at=send_at, counted=counted, custom=custom)
    chips = []
    if spec.member_ids:
        chips = db.session.scalars(
            select(Member).where(Member.church_id == church.id, Member.id.in_(spec.member_ids)).order_by(Member.id)
        ).all()
    templates = db.session.scalars(
        select(Template).where(Template.church_id == church.id).order_by(Template.name).limit(50)
    ).all()
    return {
        "form": form,
        "summary": summary,
        "smart_replacements": SMART_REPLACEMENTS,
        "spec": spec,
        "chips": chips,
        "templates": templates,
        "church": church,
        "can_pick_anyone": user.is_admin,
        # The church's own fields, offered as merge fields beside the built-in ones.
        "custom_merge_tags": ["{" + key + "}" for key in custom.keys],
        "audience_errors": [*getattr(form, "audience_errors", []), *form.member_ids.errors],
        "over_limit": len(form.body.data or "") > MAX_BODY,
        "links": links,
        "link_base": base_url(),
        **extra,
    }


def validate(form: ComposerForm, user) -> bool:
    """Field validation, timing in the church's timezone, and a non-empty audience."""
    drafts.refuse_beyond_led_groups(user, AudienceSpec.from_dict(form.audience_dict()))
    ok = form.validate()
    form.check_timing(user.church.timezone)
    form.audience_errors = drafts.audience_problems(user.church_id, spec_for(form, user))
    form.anchored_errors = [("audience", message) for message in form.audience_errors]
    return ok and not form.has_errors and not form.audience_errors


def describe_audience(spec: AudienceSpec, church_id: int) -> list[str]:
    """Names of what was picked: "Everyone", "Youth", "Downtown branch", "3 people"."""
    parts = ["Everyone"] if spec.everyone else []
    if spec.group_ids:
        parts += db.session.scalars(
            select(Group.name).where(Group.church_id == church_id, Group.id.in_(spec.group_ids)).order_by(Group.name)
        ).all()
    if spec.branch_ids:
        names = db.session.scalars(
            select(Branch.name).where(Branch.church_id == church_id, Branch.id.in_(spec.branch_ids))
        ).all()
        parts += [f"{n} branch" for n in names]
    if spec.member_ids:
        n = len(spec.member_ids)
        parts.append(f"{n} {'person' if n == 1 else 'people'}")
    if spec.filters:
        fields = {f.id: f for f in church_fields(church_id)}
        labels = [label for f in spec.filters if (label := filter_label(f, fields))]
        parts.append("only where " + " and ".join(labels))
    return parts


def confirm_context(form: ComposerForm, user) -> dict:
    """The composer context plus what the confirmation step spells out."""
    church = user.church
    context = composer_context(form, user)
    context["audience_names"] = describe_audience(context["spec"], church.id)
    context["scheduled_at"] = form.scheduled_at(church.timezone)
    rec = form.recurrence(church.timezone)
    if rec:
        rule = build_rule(rec)
        context["repeat_text"] = describe(rule)
        context["next_runs"] = occurrences(rule, church.timezone, datetime.now(UTC), limit=3)
    return context


def draft_of(form: ComposerForm, tz: str) -> drafts.Draft:
    """The composer's form as a Draft, the shape the API sends too."""
    return drafts.Draft(
        body=form.body.data or "",
        audience=AudienceSpec.from_dict(form.audience_dict()),
        media_urls=form.media_list(),
        title=form.title.data,
        send_at=form.scheduled_at(tz),
        recurrence=form.recurrence(tz),
        idempotency_key=form.idempotency_key.data,
        track_links=bool(form.track_links.data),
    )


def submit(form: ComposerForm, user) -> Broadcast | Schedule:
    """Create the broadcast (now or scheduled) or the repeating schedule; idempotent on the form's key."""
    draft = draft_of(form, user.church.timezone)
    return drafts.send(user, draft, spec=spec_for(form, user)).result


def fill_from(form: ComposerForm, broadcast: Broadcast, tz: str) -> None:
    """Put a scheduled broadcast's text, audience and time into the composer's form."""
    spec = AudienceSpec.from_dict(broadcast.audience)
    form.body.data = broadcast.body
    form.title.data = broadcast.title
    form.media_urls.data = "\n".join(broadcast.media_urls or [])
    form.track_links.data = broadcast.track_links
    form.everyone.data = spec.everyone
    form.group_ids.data = list(spec.group_ids)
    form.branch_ids.data = list(spec.branch_ids)
    form.member_ids.data = list(spec.member_ids)
    form.field_filters.data = [encode_filter(f) for f in spec.filters]
    form.when.data = "later"
    if broadcast.scheduled_at is not None:
        local = broadcast.scheduled_at.astimezone(ZoneInfo(tz))
        form.send_date.data, form.send_time.data = local.date(), local.time().replace(second=0, microsecond=0)


def search_members(church_id: int, q: str, limit: int = 10) -> list[Member]:
    """Members whose name or number matches `q` (names by prefix, numbers by digits)."""
    digits = "".join(ch for ch in q if ch.isdigit())
    like = f"{escape_like(q.lower())}%"
    name = func.lower(func.concat(Member.first_name, " ", Member.last_name))
    clauses = [
        func.lower(Member.first_name).like(like, escape="\\"),
        func.lower(Member.last_name).like(like, escape="\\"),
        name.like(like, escape="\\"),
    ]
    if len(digits) >= 3:
        clauses.append(Member.phone_e164.contains(digits))
    return db.session.scalars(
        select(Member)
        .where(Member.church_id == church_id, Member.is_unknown.is_(False), or_(*clauses))
        .order_by(Member.first_name, Member.last_name, Member.id)
        .limit(limit)
    ).all()
