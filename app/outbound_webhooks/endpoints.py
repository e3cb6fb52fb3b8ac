"""The services behind /settings/webhooks and /api/v1/webhook-endpoints.

They take the acting person (a user, or an API key acting for its church) and plain values, and
leave the commit to the caller. A new endpoint's secret is returned once, in `NewEndpoint`;
afterwards only its sealed form is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import select

from app import audit
from app.errors import ValidationError
from app.extensions import db
from app.models.webhooks import EVENT_TYPES, WebhookDelivery, WebhookEndpoint
from app.outbound_webhooks import secrets
from app.outbound_webhooks.events import emit_test, queue_deliveries
from app.outbound_webhooks.urls import UrlRefused, resolve

DESCRIPTION_MAX = 200
MAX_ENDPOINTS = 20  # per church: each event is one row per endpoint
RECENT = 20


@dataclass(frozen=True)
class NewEndpoint:
    row: WebhookEndpoint
    secret: str


def clean(url: Any, events: Any, description: Any = None) -> tuple[str, list[str], str | None]:
    """The URL (checked, with its host resolved), known events in a stable order, the description."""
    errors: dict[str, list[str]] = {}
    url = (url or "").strip() if isinstance(url, str) else ""
    try:
        resolve(url, current_app.config["KOINONIA_ENV"])
    except UrlRefused as err:
        errors["url"] = [str(err)]
    chosen = set(events or []) if isinstance(events, list | tuple) else set()
    if not chosen or chosen - set(EVENT_TYPES):
        errors["events"] = ["Choose at least one of: " + ", ".join(EVENT_TYPES) + "."]
    description = (description or "").strip() or None if isinstance(description, str | None) else None
    if description and len(description) > DESCRIPTION_MAX:
        errors["description"] = [f"At most {DESCRIPTION_MAX} characters."]
    if errors:
        raise ValidationError("Check the endpoint.", details=errors)
    return url, [e for e in EVENT_TYPES if e in chosen], description


def church_endpoints(church_id: int) -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.church_id == church_id).order_by(WebhookEndpoint.id)
        )
    )


def recent_deliveries(endpoint: WebhookEndpoint, limit: int = RECENT) -> list[WebhookDelivery]:
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.church_id == endpoint.church_id, WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def create(actor: Any, url: Any, events: Any, description: Any = None) -> NewEndpoint:
    """Register an endpoint for the actor's church; its secret is in the answer and nowhere else."""
    url, events, description = clean(url, events, description)
    count = db.session.scalar(
        select(db.func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.church_id == actor.church_id)
    )
    if count >= MAX_ENDPOINTS:
        raise ValidationError("Too many endpoints.", details={"url": [f"A church may have {MAX_ENDPOINTS} endpoints."]})
    secret = secrets.new_secret()
    row = WebhookEndpoint(
        church_id=actor.church_id,
        url=url,
        events=events,
        description=description,
        secret_sealed=secrets.seal_secret(secret),
        state="enabled",
        created_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    audit.record("webhook.created", target=row, detail={"url": url, "events": events}, actor=actor)
    return NewEndpoint(row, secret)


def update(actor: Any, endpoint: WebhookEndpoint, fields: dict[str, Any]) -> WebhookEndpoint:
    """Change the URL, events, description or state (`enabled` / `disabled`) sent."""
    url, events, description = clean(
        fields.get("url", endpoint.url),
        fields.get("events", endpoint.events),
        fields.get("description", endpoint.description),
    )
    changed = [
        name
        for name, new in (("url", url), ("events", events), ("description", description))
        if getattr(endpoint, name) != new
    ]
    endpoint.url, endpoint.events, endpoint.description = url, events, description
    if "disabled" in fields and fields["disabled"] is not None:
        state = "disabled" if fields["disabled"] else "enabled"
        if (endpoint.state == "disabled") != fields["disabled"]:
            endpoint.state, endpoint.failing_since = state, None
            changed.append("state")
    if changed:
        audit.record("webhook.updated", target=endpoint, detail={"url": endpoint.url, "changed": changed}, actor=actor)
    return endpoint


def set_disabled(actor: Any, endpoint: WebhookEndpoint, disabled: bool) -> None:
    """Turn an endpoint off (nothing is sent or written for it) or on again."""
    if (endpoint.state == "disabled") == disabled:
        return
    endpoint.state, endpoint.failing_since = ("disabled" if disabled else "enabled"), None
    action = "webhook.disabled" if disabled else "webhook.enabled"
    audit.record(action, target=endpoint, detail={"url": endpoint.url}, actor=actor)


def delete(actor: Any, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint and its deliveries."""
    audit.record("webhook.deleted", target=endpoint, detail={"url": endpoint.url}, actor=actor)
    db.session.delete(endpoint)


def send_test(actor: Any, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a `webhook.test` event to this endpoint only, whatever it subscribes to."""
    data = {"endpoint_id": endpoint.id, "message": "A test event from Koinonia."}
    delivery_id = emit_test(endpoint.church_id, endpoint.id, data)
    audit.record("webhook.tested", target=endpoint, detail={"url": endpoint.url}, actor=actor)
    return db.session.get(WebhookDelivery, delivery_id)


def resend(actor: Any, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery's event again, as a new delivery with the same `webhook-id` and body."""
    copy = WebhookDelivery(
        church_id=delivery.church_id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        payload=delivery.payload,
        status="pending",
    )
    db.session.add(copy)
    db.session.flush()
    queue_deliveries([copy.id])
    audit.record(
        "webhook.resent",
        target=("webhook_endpoint", delivery.endpoint_id),
        detail={"event_id": delivery.event_id, "type": delivery.event_type},
        actor=actor,
    )
    return copy
