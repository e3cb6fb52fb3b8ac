"""The plans on offer, joined with their Stripe price ids from STRIPE_PRICE_IDS."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from app.billing.allowance import DEFAULT_PLAN, PLANS


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    segments: int
    price: str
    price_id: str | None


def all_plans() -> list[Plan]:
    """Every plan in allowance order, with its Stripe price id when one is configured."""
    prices: dict[str, str] = current_app.config.get("STRIPE_PRICE_IDS") or {}
    return [Plan(key, p["name"], p["segments"], p["price"], prices.get(key)) for key, p in PLANS.items()]


def get_plan(key: str | None) -> Plan:
    """The plan called `key`, or the default plan for unknown or missing keys."""
    plans = {p.key: p for p in all_plans()}
    return plans.get(key or DEFAULT_PLAN, plans[DEFAULT_PLAN])


def plan_for_price(price_id: str | None) -> str | None:
    """The plan key a Stripe price id belongs to (None for prices we do not sell)."""
    for plan in all_plans():
        if price_id and plan.price_id == price_id:
            return plan.key
    return None
