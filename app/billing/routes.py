"""Plans and billing: the owner's page, Stripe Checkout and the Customer Portal."""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request
from flask_login import current_user

from app.auth.decorators import OWNERS, role_required
from app.billing import allowance, bp, services, stripe_api
from app.billing.plans import all_plans, get_plan
from app.errors import AppError
from app.security.headers import CSP
from app.usage import period_bounds

RETURN_MESSAGES = {
    ("checkout", "success"): (
        "success",
        "Thank you! Your subscription is being confirmed; the plan updates in a moment.",
    ),
    ("checkout", "cancel"): ("info", "Checkout was cancelled; nothing was charged."),
    ("portal", "return"): ("info", "Back from the billing portal. Changes show here as Stripe confirms them."),
    ("portal", "changed"): ("success", "Your plan change was confirmed."),
}


def _base_url() -> str:
    return current_app.config["APP_BASE_URL"]


def _with_stripe_form_action(response):
    """Let this page's forms redirect to a Stripe-compatible server configured with STRIPE_API_BASE."""
    base = current_app.config.get("STRIPE_API_BASE")
    if base:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(base))
        response.headers["Content-Security-Policy"] = CSP.replace("form-action 'self'", f"form-action 'self' {origin}")
    return response


@bp.get("/billing")
@role_required(*OWNERS)
def index():
    """Plan, usage this period, subscription state and the way to invoices."""
    church = current_user.church
    for param in ("checkout", "portal"):
        message = RETURN_MESSAGES.get((param, request.args.get(param, "")))
        if message:
            sub = services.subscription_for(church.id)
            if param == "checkout" and message[0] == "success" and sub and sub.status == "active":
                # The webhook usually lands before the owner does.
                message = ("success", f"Thank you! The {get_plan(church.plan).name} plan is now active.")
            flash(message[1], message[0])
            return redirect("/billing")
    period = period_bounds()
    page = render_template(
        "billing/page.html",
        church=church,
        plans=all_plans(),
        current_plan=get_plan(church.plan),
        usage=allowance.check(church),
        period=period,
        period_last=period[1] - timedelta(days=1),
        subscription=services.subscription_for(church.id),
        configured=stripe_api.configured(),
        form_key=secrets.token_urlsafe(12),
    )
    return _with_stripe_form_action(current_app.make_response(page))


@bp.post("/billing/checkout")
@role_required(*OWNERS)
def checkout():
    """Send the owner to Stripe Checkout (or to the portal to change an existing subscription's plan)."""
    if not stripe_api.configured():
        flash("Online payments are not switched on yet, so plans cannot be bought here.", "warning")
        return redirect("/billing")
    try:
        url = services.start_checkout(
            current_user.church,
            current_user,
            request.form.get("plan", ""),
            _base_url(),
            request.form.get("form_key") or secrets.token_urlsafe(12),
        )
    except AppError as exc:
        flash(exc.message, "error")
        return redirect("/billing")
    return redirect(url, code=303)


@bp.post("/billing/portal")
@role_required(*OWNERS)
def portal():
    """Send the owner to the Stripe Customer Portal: invoices, payment method, cancellation."""
    if not stripe_api.configured():
        flash("Online payments are not switched on yet, so there are no invoices to show.", "warning")
        return redirect("/billing")
    try:
        url = services.open_portal(
            current_user.church, _base_url(), request.form.get("form_key") or secrets.token_urlsafe(12)
        )
    except AppError as exc:
        flash(exc.message, "error")
        return redirect("/billing")
    return redirect(url, code=303)
