"""The dashboard's figures: daily_stats and a few small indexed reads, never a count over recipients.

A church's owner and admins read the pre-aggregated `daily_stats` rows and `member_counts`.
A leader sees the same page for the members of the groups they lead; those figures are
computed from the raw rows of just those members inside the window (indexed on member_id,
bounded by the groups' size), because a per-group aggregate would need every writer to know
group membership at write time, and membership changes after the fact.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app

from app import cache
from app.billing import allowance
from app.cache import Dep
from app.dashboard.figures import church_figures, group_figures
from app.dashboard.scope import scope_for
from app.dashboard.series import total
from app.models import Church, User
from app.stats import church_day


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def overview_deps(user: User) -> list[Dep]:
    """What the cards show: the church's figures, members, broadcasts, inbox and usage; a leader's
    also move with the groups they lead."""
    church_id = user.church_id
    deps: list[Dep] = [
        ("church", church_id),
        ("stats", church_id),
        ("members", church_id),
        ("broadcasts", church_id),
        ("conversation", church_id),
        ("billing", church_id),
    ]
    if user.is_leader:
        deps.append(("groups", church_id))
    return deps


def cached_overview(user: User) -> dict:
    """overview(user), kept by this process while nothing it shows moves (at most DASHBOARD_CACHE_SECONDS).

    Every staff member of a church shares one copy; each leader has their own.
    """
    scope = f"user{user.id}" if user.is_leader else "all"
    ttl = current_app.config["DASHBOARD_CACHE_SECONDS"]
    return cache.remember(f"dashboard:{user.church_id}:{scope}", overview_deps(user), ttl, lambda: overview(user))


def overview(user: User, now: datetime | None = None) -> dict:
    """Everything the dashboard's cards show, for this user's scope."""
    now = now or datetime.now(UTC)
    scope = scope_for(user)
    church: Church = user.church
    today = church_day(scope.timezone, now)
    week, month30, month_start = today - timedelta(days=6), today - timedelta(days=29), today.replace(day=1)
    since30 = now - timedelta(days=30)
    figures = (group_figures if scope.is_groups else church_figures)(scope, min(month30, month_start), since30, now)
    days, members = figures["days"], figures["members"]
    usage = allowance.check_for_page(church)
    if scope.is_groups:
        usage = allowance.Allowance(allowance=usage.allowance, used=total(days, "segments", month_start))
    sent7, sent30 = total(days, "sent", week), total(days, "sent", month30)
    return {
        "scope": scope,
        "members": {**members, "change": members["joined"] - total(days, "opt_outs", month30)},
        "usage": usage,
        "delivery_7": percent(total(days, "delivered", week), sent7),
        "delivery_30": percent(total(days, "delivered", month30), sent30),
        "sent_7": sent7,
        "sent_30": sent30,
        "replies_30": total(days, "inbound", month30),
        "replies_7": total(days, "inbound", week),
        "median_response": figures["median"],
        "answered": figures["answered"],
        "opt_outs_month": total(days, "opt_outs", month_start),
        "failed_7": total(days, "failed", week),
        "unread": figures["unread"],
        "failed_broadcasts": figures["failed_broadcasts"],
        "scheduled": figures["scheduled"],
        "recent": figures["recent"],
    }


def humanize_seconds(seconds: float | None) -> str:
    """'4 min', '1 h 20 min', '2 d 3 h' — a response time people read at a glance."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    d, hours = divmod(hours, 24)
    return f"{d} d {hours} h" if hours else f"{d} d"
