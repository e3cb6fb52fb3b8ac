"""Monthly segment allowances: what a church may still send this period.

The composer asks `check(church, segments)` before a broadcast is created, the worker asks
again before each batch, and the worker records what the provider accepted with
`app.usage.record_usage(church_id, segments)` (one upsert per batch into `usage_periods`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import g, has_request_context
from sqlalchemy import select

from app.extensions import db
from app.models import Church, Subscription
from app.usage import segments_used

# Plans and their monthly segment allowances. Stripe price ids come from STRIPE_PRICE_IDS.
PLANS: dict[str, dict] = {
    "starter": {"name": "Starter", "segments": 1_000, "price": "$29/month"},
    "growth": {"name": "Growth", "segments": 5_000, "price": "$79/month"},
    "ministry": {"name": "Ministry", "segments": 20_000, "price": "$199/month"},
}
DEFAULT_PLAN = "starter"
# Where over-allowance and overdue messages point owners (a plain path: services have no request).
BILLING_PATH = "/billing"


@dataclass(frozen=True)
class Allowance:
    allowance: int
    used: int
    requested: int = 0

    @property
    def remaining(self) -> int:
        return max(self.allowance - self.used, 0)

    @property
    def ok(self) -> bool:
        return self.used + self.requested <= self.allowance

    @property
    def percent_used(self) -> int:
        return min(100, round(100 * self.used / self.allowance)) if self.allowance else 100

    @property
    def reason(self) -> str | None:
        if self.ok:
            return None
        return (
            f"This needs {self.requested:,} segments but only {self.remaining:,} of this month's "
            f"{self.allowance:,} are left. Upgrade the plan in Billing ({BILLING_PATH}) or wait for next month."
        )


def monthly_allowance(church: Church) -> int:
    if church.sms_quota is not None:
        return church.sms_quota
    return PLANS.get(church.plan, PLANS[DEFAULT_PLAN])["segments"]


def check(church: Church, segments: int = 0) -> Allowance:
    """The church's allowance this period, and whether `segments` more still fit."""
    return Allowance(allowance=monthly_allowance(church), used=segments_used(church.id), requested=segments)


def check_for_page(church: Church) -> Allowance:
    """check(church), read once per request: the banners and the page both show it.

    Only for display; anything that decides whether to send calls check() for a fresh read.
    """
    if not has_request_context():
        return check(church)
    cached = g.get("_koinonia_allowance")
    if cached is None or cached[0] != church.id:
        cached = (church.id, check(church))
        g._koinonia_allowance = cached
    return cached[1]


PAST_DUE_GRACE_DAYS = 7


_UNSET = object()


def sending_blocked_reason(church: Church, now: datetime | None = None, subscription=_UNSET) -> str | None:
    """Why new broadcasts are refused for this church right now, or None.

    A subscription that has been past due for longer than the grace period blocks new
    broadcasts; replies in the inbox keep working.
    """
    sub = (
        subscription
        if subscription is not _UNSET
        else db.session.scalar(select(Subscription).where(Subscription.church_id == church.id))
    )
    if sub is None or sub.status not in ("past_due", "unpaid") or sub.past_due_since is None:
        return None
    now = now or datetime.now(UTC)
    days = (now - sub.past_due_since).days
    if days < PAST_DUE_GRACE_DAYS:
        return None
    return (
        f"Payment has been overdue for {days} days, so new broadcasts are paused. "
        f"Update the payment method in Billing ({BILLING_PATH}) to send again; replies still work."
    )
