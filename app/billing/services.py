"""Billing: checkout and portal sessions, Stripe events applied to the church's subscription, banners.

Stripe delivers events more than once and out of order, so an event is a hint, not the truth:
each one names a subscription, and the handler fetches that subscription from the API and
writes what Stripe says now. Applying the same event twice, or an old event after a new
one, therefore leaves the same row.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, text

from app import audit
from app.billing import allowance, stripe_api
from app.billing.allowance import DEFAULT_PLAN
from app.billing.plans import Plan, get_plan, plan_for_price
from app.errors import ValidationError
from app.extensions import db
from app.models import Church, Subscription, User
from app.partitions import event_time

log = logging.getLogger(__name__)

HANDLED_EVENTS = (
    "checkout.session.completed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.paid",
    "invoice.payment_failed",
)
# Statuses in which the plan paid for is the plan in force.
PAID_STATUSES = ("active", "trialing", "past_due")
OVERDUE_STATUSES = ("past_due", "unpaid")


def subscription_for(church_id: int) -> Subscription | None:
    return db.session.scalar(select(Subscription).where(Subscription.church_id == church_id))


def _row(church_id: int) -> Subscription:
    sub = subscription_for(church_id)
    if sub is None:
        sub = Subscription(church_id=church_id, status="none")
        db.session.add(sub)
        db.session.flush()
    return sub


TRIAL_DAYS = 14


def start_trial(church: Church, now: datetime | None = None) -> Subscription:
    """Put a new church on a trial of the default (Starter) plan, with no Stripe subscription yet.

    The row reads `trialing` until the trial's end; subscribing through Checkout replaces it
    with what Stripe says.
    """
    now = now or datetime.now(UTC)
    row = _row(church.id)
    row.status = "trialing"
    row.plan = DEFAULT_PLAN
    row.current_period_end = now + timedelta(days=TRIAL_DAYS)
    row.updated_at = now
    church.plan = DEFAULT_PLAN
    db.session.flush()
    return row


# --- sessions -------------------------------------------------------------------------------


def checkout_params(church: Church, user: User, plan: Plan, base_url: str) -> dict[str, Any]:
    """What Stripe Checkout needs to start a subscription for this church."""
    params: dict[str, Any] = {
        "mode": "subscription",
        "line_items": [{"price": plan.price_id, "quantity": 1}],
        "client_reference_id": str(church.id),
        "success_url": f"{base_url}/billing?checkout=success&session_id={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{base_url}/billing?checkout=cancel",
        "metadata": {"church_id": str(church.id), "plan": plan.key},
        "subscription_data": {"metadata": {"church_id": str(church.id), "plan": plan.key}},
    }
    if church.stripe_customer_id:
        params["customer"] = church.stripe_customer_id
    else:
        params["customer_email"] = user.email
    return params


def start_checkout(church: Church, user: User, plan_key: str, base_url: str, form_key: str) -> str:
    """Create a Checkout session for `plan_key`; returns the URL to send the owner to."""
    plan = get_plan(plan_key)
    if plan.key != plan_key or not plan.price_id:
        raise ValidationError("That plan is not available for online payment.")
    current = subscription_for(church.id)
    if current and current.status in PAID_STATUSES and current.stripe_subscription_id:
        # An existing subscription changes plan in the portal (prorated), never a second subscription.
        return open_portal(church, base_url, form_key, change_to=plan)
    session = stripe_api.create_checkout_session(
        checkout_params(church, user, plan, base_url), idempotency_key=f"checkout-{church.id}-{plan.key}-{form_key}"
    )
    return session["url"]


def open_portal(church: Church, base_url: str, form_key: str, change_to: Plan | None = None) -> str:
    """A Customer Portal session returning to /billing; optionally straight to a plan change."""
    if not church.stripe_customer_id:
        raise ValidationError("Subscribe to a plan first; invoices and payment details appear after that.")
    params: dict[str, Any] = {"customer": church.stripe_customer_id, "return_url": f"{base_url}/billing?portal=return"}
    current = subscription_for(church.id)
    if change_to and current and current.stripe_subscription_id and current.stripe_item_id:
        params["flow_data"] = {
            "type": "subscription_update_confirm",
            "subscription_update_confirm": {
                "subscription": current.stripe_subscription_id,
                "items": [{"id": current.stripe_item_id, "price": change_to.price_id, "quantity": 1}],
            },
            "after_completion": {
                "type": "redirect",
                "redirect": {"return_url": f"{base_url}/billing?portal=changed"},
            },
        }
    key = f"portal-{church.id}-{change_to.key if change_to else 'manage'}-{form_key}"
    return stripe_api.create_portal_session(params, idempotency_key=key)["url"]


# --- events ---------------------------------------------------------------------------------


def _subscription_id(obj: dict[str, Any], event_type: str) -> str | None:
    if event_type.startswith("customer.subscription."):
        return obj.get("id")
    if event_type == "checkout.session.completed":
        return obj.get("subscription")
    # Invoices: API versions from 2025-03-31 moved the subscription under parent.subscription_details.
    details = (obj.get("parent") or {}).get("subscription_details") or {}
    sub = details.get("subscription") or obj.get("subscription")
    return sub.get("id") if isinstance(sub, dict) else sub


def _church_for(obj: dict[str, Any], event_type: str) -> Church | None:
    refs = [obj.get("client_reference_id") if event_type == "checkout.session.completed" else None]
    refs.append((obj.get("metadata") or {}).get("church_id"))
    for ref in refs:
        if ref and str(ref).isdigit():
            church = db.session.get(Church, int(ref))
            if church:
                return church
    customer = obj.get("customer")
    customer = customer.get("id") if isinstance(customer, dict) else customer
    if not customer:
        return None
    return db.session.scalar(
        select(Church)
        .outerjoin(Subscription, Subscription.church_id == Church.id)
        .where(or_(Church.stripe_customer_id == customer, Subscription.stripe_customer_id == customer))
        .limit(1)
    )


def apply_event(event: dict[str, Any]) -> str:
    """Bring the church's subscription in line with Stripe after `event`; returns what happened."""
    event_type = event.get("type", "")
    if event_type not in HANDLED_EVENTS:
        return "ignored"
    obj = (event.get("data") or {}).get("object") or {}
    if event_type == "checkout.session.completed" and obj.get("mode") not in (None, "subscription"):
        return "ignored"
    church = _church_for(obj, event_type)
    if church is None:
        log.warning("stripe event %s (%s) matches no church", event.get("id"), event_type)
        return "no church"
    sub_id = _subscription_id(obj, event_type)
    customer = obj.get("customer")
    if isinstance(customer, str) and not church.stripe_customer_id:
        church.stripe_customer_id = customer
    if not sub_id:
        return "no subscription"
    sub = stripe_api.retrieve_subscription(sub_id)
    if sub is None:
        return _subscription_gone(church, sub_id)
    sync_subscription(church, sub)
    return "applied"


def _subscription_gone(church: Church, sub_id: str) -> str:
    """Stripe no longer has `sub_id`: if it is the church's subscription, it has ended."""
    log.warning("stripe subscription %s no longer exists", sub_id, extra={"church_id": church.id})
    row = subscription_for(church.id)
    if row is None or row.stripe_subscription_id != sub_id:
        return "subscription gone"
    before = _billing_state(church, row)
    row.status = "canceled"
    row.cancel_at_period_end = False
    row.past_due_since = None
    row.updated_at = datetime.now(UTC)
    church.plan = DEFAULT_PLAN
    _record_change(church, before, _billing_state(church, row))
    db.session.flush()
    return "subscription gone"


def _period_end(sub: dict[str, Any]) -> datetime | None:
    """The current period's end: on the items since API 2025-03-31, on the subscription before."""
    ends = [item.get("current_period_end") for item in (sub.get("items") or {}).get("data", [])]
    ends = [e for e in ends if e] or [sub.get("current_period_end")]
    end = max((e for e in ends if e), default=None)
    return datetime.fromtimestamp(end, UTC) if end else None


def sync_subscription(church: Church, sub: dict[str, Any], now: datetime | None = None) -> Subscription:
    """Write Stripe's current view of `sub` onto the church's row (and the church's plan)."""
    now = now or datetime.now(UTC)
    row = _row(church.id)
    status = sub.get("status") or "none"
    if row.stripe_subscription_id and row.stripe_subscription_id != sub["id"] and status not in PAID_STATUSES:
        # A finished older subscription must not overwrite the one now in force.
        return row
    before = _billing_state(church, row)
    items = (sub.get("items") or {}).get("data") or []
    price_id = ((items[0].get("price") or {}).get("id")) if items else None
    plan = plan_for_price(price_id) or (sub.get("metadata") or {}).get("plan")
    row.stripe_subscription_id = sub["id"]
    row.stripe_customer_id = sub.get("customer") if isinstance(sub.get("customer"), str) else row.stripe_customer_id
    row.stripe_item_id = items[0].get("id") if items else None
    row.status = status
    row.price_id = price_id
    row.plan = plan
    row.current_period_end = _period_end(sub)
    row.cancel_at_period_end = bool(sub.get("cancel_at_period_end"))
    if status in OVERDUE_STATUSES:
        row.past_due_since = row.past_due_since or now
    else:
        row.past_due_since = None
    row.updated_at = now
    if row.stripe_customer_id and not church.stripe_customer_id:
        church.stripe_customer_id = row.stripe_customer_id
    church.plan = plan if status in PAID_STATUSES and plan else DEFAULT_PLAN
    _record_change(church, before, _billing_state(church, row))
    db.session.flush()
    return row


def _billing_state(church: Church, row: Subscription) -> dict[str, Any]:
    """What an owner would call the church's billing: its plan and the subscription's state."""
    return {
        "plan": church.plan,
        "status": row.status,
        "cancel_at_period_end": bool(row.cancel_at_period_end),
    }


def _record_change(church: Church, before: dict[str, Any], after: dict[str, Any]) -> None:
    """Put a change of plan or subscription state on the church's audit log (from Stripe, so no person)."""
    changed = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if changed:
        audit.record("billing.changed", target=church, church_id=church.id, detail={"source": "stripe", **changed})


def store_event(event: dict[str, Any]) -> int | None:
    """Record the event once (provider 'stripe'); None when it was already stored."""
    return db.session.scalar(
        text(
            "INSERT INTO webhook_events (provider, event_id, event_type, payload, occurred_at) "
            "VALUES ('stripe', :id, :type, CAST(:payload AS jsonb), :at) "
            "ON CONFLICT (provider, event_id, occurred_at) DO NOTHING RETURNING id"
        ),
        {
            "id": event["id"],
            "type": event.get("type", "")[:64],
            "payload": _json(event),
            "at": event_time(event.get("created")),
        },
    )


def mark_processed(row_id: int, church_id: int | None, error: str | None = None) -> None:
    db.session.execute(
        text(
            "UPDATE webhook_events SET processed_at = now(), attempts = attempts + 1, church_id = :church, "
            "error = :error WHERE id = :id"
        ),
        {"id": row_id, "church": church_id, "error": error},
    )


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


# --- what owners see ------------------------------------------------------------------------


@dataclass(frozen=True)
class Banner:
    level: str  # warning | danger
    message: str
    link_text: str = "Go to Billing"


def banners(church: Church, now: datetime | None = None) -> list[Banner]:
    """Notices an owner sees on every page: overdue payment, 80% and 100% of the allowance."""
    found: list[Banner] = []
    sub = subscription_for(church.id)
    blocked = allowance.sending_blocked_reason(church, now, subscription=sub)
    if blocked:
        found.append(Banner("danger", blocked, "Update payment"))
    else:
        if sub and sub.status in OVERDUE_STATUSES:
            found.append(
                Banner(
                    "warning",
                    "The last payment failed. Update the payment method within "
                    f"{allowance.PAST_DUE_GRACE_DAYS} days to keep sending broadcasts.",
                    "Update payment",
                )
            )
    usage = allowance.check_for_page(church)
    if usage.used >= usage.allowance:
        found.append(
            Banner(
                "danger",
                f"This month's {usage.allowance:,} segments are used up: new broadcasts are refused until the "
                "plan is upgraded or the month ends.",
                "Upgrade the plan",
            )
        )
    elif usage.percent_used >= 80:
        found.append(
            Banner(
                "warning",
                f"{usage.percent_used}% of this month's {usage.allowance:,} segments are used.",
                "See plans",
            )
        )
    return found
