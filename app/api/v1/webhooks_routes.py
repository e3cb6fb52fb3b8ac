"""/api/v1/webhook-endpoints: where a church's events are POSTed (Standard Webhooks), and their deliveries."""

from __future__ import annotations

from flask import abort
from flask.views import MethodView
from sqlalchemy import select

from app.api.v1 import schemas
from app.api.v1.auth import actor, blueprint, requires
from app.api.v1.paging import decode_cursor, page_of
from app.extensions import db
from app.models.webhooks import WebhookDelivery, WebhookEndpoint
from app.outbound_webhooks import endpoints
from app.tenancy import scoped

blp = blueprint(
    "webhook_endpoints",
    "URLs that receive the church's events, signed in the Standard Webhooks format (see the Webhooks section).",
)


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.scalar(scoped(WebhookEndpoint, actor().church_id).where(WebhookEndpoint.id == endpoint_id))
    if endpoint is None:
        abort(404)
    return endpoint


@blp.route("/webhook-endpoints")
class WebhookEndpoints(MethodView):
    @blp.arguments(schemas.PageArgs, location="query", as_kwargs=True)
    @blp.response(200, schemas.WebhookEndpointPage)
    @requires("webhooks:manage")
    def get(self, limit: int, cursor: str | None = None):
        """List endpoints, oldest first. Scope: `webhooks:manage`."""
        return page_of(scoped(WebhookEndpoint, actor().church_id), WebhookEndpoint.id, decode_cursor(cursor), limit)

    @blp.arguments(schemas.WebhookEndpointInputSchema)
    @blp.response(201, schemas.WebhookEndpointCreated)
    @requires("webhooks:manage")
    def post(self, fields: dict):
        """Add an endpoint; the answer holds its signing `secret`, shown this once. Scope: `webhooks:manage`."""
        made = endpoints.create(actor(), fields["url"], fields["events"], fields.get("description"))
        db.session.commit()
        fields_shown = schemas.WebhookEndpointSchema().fields
        shown = {name: getattr(made.row, name) for name in fields_shown}
        return {"data": {**shown, "secret": made.secret}}


@blp.route("/webhook-endpoints/<int:endpoint_id>")
class OneWebhookEndpoint(MethodView):
    @blp.response(200, schemas.WebhookEndpointOne)
    @requires("webhooks:manage")
    def get(self, endpoint_id: int):
        """One endpoint. Scope: `webhooks:manage`."""
        return {"data": _endpoint(endpoint_id)}

    @blp.arguments(schemas.WebhookEndpointPatchSchema)
    @blp.response(200, schemas.WebhookEndpointOne)
    @requires("webhooks:manage")
    def patch(self, fields: dict, endpoint_id: int):
        """Change the fields sent; `disabled` turns it off or on. Scope: `webhooks:manage`."""
        endpoint = endpoints.update(actor(), _endpoint(endpoint_id), fields)
        db.session.commit()
        return {"data": endpoint}

    @blp.response(204)
    @requires("webhooks:manage")
    def delete(self, endpoint_id: int):
        """Delete an endpoint and its deliveries. Scope: `webhooks:manage`."""
        endpoints.delete(actor(), _endpoint(endpoint_id))
        db.session.commit()


@blp.route("/webhook-endpoints/<int:endpoint_id>/test", methods=["POST"])
@blp.response(202, schemas.WebhookDeliveryOne)
@requires("webhooks:manage")
def test_endpoint(endpoint_id: int):
    """Send a `webhook.test` event to this endpoint; the answer is its delivery. Scope: `webhooks:manage`."""
    delivery = endpoints.send_test(actor(), _endpoint(endpoint_id))
    db.session.commit()
    return {"data": delivery}


@blp.route("/webhook-endpoints/<int:endpoint_id>/deliveries", methods=["GET"])
@blp.arguments(schemas.PageArgs, location="query", as_kwargs=True)
@blp.response(200, schemas.WebhookDeliveryPage)
@requires("webhooks:manage")
def deliveries(endpoint_id: int, limit: int, cursor: str | None = None):
    """The endpoint's deliveries, oldest first: status, attempts, what it answered. Scope: `webhooks:manage`."""
    endpoint = _endpoint(endpoint_id)
    stmt = select(WebhookDelivery).where(
        WebhookDelivery.church_id == endpoint.church_id, WebhookDelivery.endpoint_id == endpoint.id
    )
    return page_of(stmt, WebhookDelivery.id, decode_cursor(cursor), limit)
