"""Outbound webhooks at /settings/webhooks: owners add endpoints, see deliveries, test and resend.

Owners only, as with API keys: an endpoint receives every text members send and every new
member's number, so adding one is as much a data export as an API key is.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, URLField, widgets
from wtforms.validators import DataRequired, Length

from app.auth.decorators import OWNERS, role_required
from app.errors import ValidationError
from app.extensions import db, limiter, user_rate_key
from app.models.webhooks import EVENT_TYPES, URL_MAX, WebhookDelivery, WebhookEndpoint
from app.outbound_webhooks import endpoints
from app.settings import bp
from app.tenancy import get_or_404

EVENT_LABELS = {
    "message.received": "message.received: a member texted in",
    "member.created": "member.created: a member was added (form, import, API, connect card, a new number texting)",
    "member.opted_out": "member.opted_out: a member texted STOP (or the carrier reported it)",
    "broadcast.completed": "broadcast.completed: every text of a broadcast has gone out",
}


class EndpointForm(FlaskForm):
    url = URLField(
        "URL", validators=[DataRequired("Enter the URL that should receive the events."), Length(max=URL_MAX)]
    )
    description = StringField("Description", validators=[Length(max=endpoints.DESCRIPTION_MAX)])
    events = SelectMultipleField(
        "Events",
        choices=[(e, EVENT_LABELS[e]) for e in EVENT_TYPES],
        default=list(EVENT_TYPES),
        widget=widgets.ListWidget(prefix_label=False),
        option_widget=widgets.CheckboxInput(),
        validators=[DataRequired("Choose at least one event.")],
    )


def _page(form: EndpointForm, new_secret: str | None = None, status: int = 200):
    rows = endpoints.church_endpoints(current_user.church_id)
    failing = [row for row in rows if row.state == "failing"]
    html = render_template("settings/webhooks.html", form=form, rows=rows, failing=failing, new_secret=new_secret)
    return html, status


@bp.route("/settings/webhooks", methods=["GET", "POST"])
@role_required(*OWNERS)
def webhooks():
    """The church's webhook endpoints, and the form that adds one (its secret is shown once)."""
    form = EndpointForm()
    if not form.is_submitted():
        return _page(form)
    if form.validate():
        try:
            made = endpoints.create(current_user, form.url.data, form.events.data, form.description.data)
        except ValidationError as err:
            for name, messages in err.details.items():
                getattr(form, name).errors = list(messages)
        else:
            db.session.commit()
            # Rendered in the POST's answer, never stored: reloading the page cannot show it again.
            html, _ = _page(EndpointForm(formdata=None), new_secret=made.secret)
            return html, 201, {"Cache-Control": "no-store"}
    return _page(form, status=422)


@bp.get("/settings/webhooks/<int:endpoint_id>")
@role_required(*OWNERS)
def webhook(endpoint_id: int):
    """One endpoint: its state and its recent deliveries with what the endpoint answered."""
    endpoint = get_or_404(WebhookEndpoint, endpoint_id)
    deliveries = endpoints.recent_deliveries(endpoint)
    return render_template("settings/webhook.html", endpoint=endpoint, deliveries=deliveries)


@bp.post("/settings/webhooks/<int:endpoint_id>/test")
@role_required(*OWNERS)
@limiter.limit("20 per hour", key_func=user_rate_key)
def test_webhook(endpoint_id: int):
    """Send a `webhook.test` event to this endpoint."""
    endpoint = get_or_404(WebhookEndpoint, endpoint_id)
    endpoints.send_test(current_user, endpoint)
    db.session.commit()
    flash("A test event is on its way; its delivery shows below.", "success")
    return redirect(url_for("settings.webhook", endpoint_id=endpoint.id))


@bp.post("/settings/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/resend")
@role_required(*OWNERS)
@limiter.limit("60 per hour", key_func=user_rate_key)
def resend_webhook(endpoint_id: int, delivery_id: int):
    """Send a delivery's event again, with the same webhook-id."""
    endpoint = get_or_404(WebhookEndpoint, endpoint_id)
    delivery = get_or_404(WebhookDelivery, delivery_id)
    if delivery.endpoint_id != endpoint.id:
        return redirect(url_for("settings.webhook", endpoint_id=endpoint.id))
    endpoints.resend(current_user, delivery)
    db.session.commit()
    flash("The event is sent again.", "success")
    return redirect(url_for("settings.webhook", endpoint_id=endpoint.id))


@bp.post("/settings/webhooks/<int:endpoint_id>/disable", defaults={"disabled": True})
@bp.post("/settings/webhooks/<int:endpoint_id>/enable", defaults={"disabled": False})
@role_required(*OWNERS)
def switch_webhook(endpoint_id: int, disabled: bool):
    """Turn an endpoint off (nothing is written or sent for it) or on again."""
    endpoint = get_or_404(WebhookEndpoint, endpoint_id)
    endpoints.set_disabled(current_user, endpoint, disabled)
    db.session.commit()
    flash(f"The endpoint is turned {'off' if disabled else 'on'}.", "success")
    return redirect(url_for("settings.webhook", endpoint_id=endpoint.id))


@bp.post("/settings/webhooks/<int:endpoint_id>/delete")
@role_required(*OWNERS)
def delete_webhook(endpoint_id: int):
    """Delete the endpoint and its deliveries."""
    endpoint = get_or_404(WebhookEndpoint, endpoint_id)
    endpoints.delete(current_user, endpoint)
    db.session.commit()
    flash("The endpoint is deleted.", "success")
    return redirect(url_for("settings.webhooks"))
