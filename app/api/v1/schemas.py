"""The API's shapes: each validates requests and is the OpenAPI document's description of them.

An API member is `{id, first_name, last_name, phone, email, opted_out, custom_fields}`, phone in E.164;
`custom_fields` holds the church's own fields by key (numbers as numbers, dates as YYYY-MM-DD).
Lists answer `{"data": [...], "next_cursor": string|null}`; one resource `{"data": {...}}`.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.models.webhooks import DELIVERY_STATUSES, ENDPOINT_STATES, EVENT_TYPES, URL_MAX
from app.people.custom_fields import KEY_MAX, MAX_FIELDS
from app.people.phones import PHONE_MAX
from app.people.services import MAX_BULK

MAX_LIMIT = 100
DEFAULT_LIMIT = 50
NAME_MAX = 100
EMAIL_MAX = 320


class ErrorSchema(Schema):
    code = fields.String(required=True, metadata={"example": "validation_error"})
    message = fields.String(required=True)
    details = fields.Dict(metadata={"description": "For 422: each field and its messages."})


class ErrorEnvelopeSchema(Schema):
    error = fields.Nested(ErrorSchema, required=True)


# --- members ------------------------------------------------------------------------------------


class MemberSummarySchema(Schema):
    """A member as other resources embed it (a conversation's member)."""

    id = fields.Integer(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    phone = fields.String(
        required=True, allow_none=True, attribute="phone_e164", metadata={"description": "E.164, e.g. +13125550142"}
    )
    email = fields.String(required=True, allow_none=True)
    opted_out = fields.Boolean(required=True, metadata={"description": "Texted STOP; only the member can undo it."})


class MemberSchema(MemberSummarySchema):
    """A member as /members answers it: with the church's own fields."""

    custom_fields = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        required=True,
        attribute="api_custom_fields",
        metadata={"description": "The church's own member fields by key; unset fields are left out."},
    )


CUSTOM_FIELDS_INPUT = {
    "keys": fields.String(validate=validate.Length(min=1, max=KEY_MAX)),
    "values": fields.Raw(allow_none=True),
    "validate": validate.Length(max=MAX_FIELDS),
    "metadata": {
        "description": (
            "Values by field key (Settings → Member fields): text and choice fields take a string (a choice "
            "one of its options), number fields a number, date fields YYYY-MM-DD; null clears. "
            "Fields not sent keep their values."
        )
    },
}


def one(name: str, item: type[Schema]) -> type[Schema]:
    """`{"data": {...}}`: one resource."""
    return Schema.from_dict({"data": fields.Nested(item, required=True)}, name=name)


def page(name: str, item: type[Schema]) -> type[Schema]:
    """`{"data": [...], "next_cursor": string|null}`: a page of a list."""
    shape = {
        "data": fields.List(fields.Nested(item), required=True),
        "next_cursor": fields.String(required=True, allow_none=True),
    }
    return Schema.from_dict(shape, name=name)


MemberOne = one("MemberOne", MemberSchema)
MemberPage = page("MemberPage", MemberSchema)


class MemberInputSchema(Schema):
    """What a client may set on a member (opting out is the member's own act, by text)."""

    # No defaults here: an upsert leaves what it does not send as it was (a new member gets "").
    first_name = fields.String(validate=validate.Length(max=NAME_MAX))
    last_name = fields.String(validate=validate.Length(max=NAME_MAX))
    phone = fields.String(
        required=True,
        validate=validate.Length(min=1, max=PHONE_MAX),
        metadata={"description": "Any format; read in the church's country and stored as E.164."},
    )
    email = fields.Email(allow_none=True, validate=validate.Length(max=EMAIL_MAX))
    custom_fields = fields.Dict(**CUSTOM_FIELDS_INPUT)


class MemberPatchSchema(Schema):
    first_name = fields.String(validate=validate.Length(max=NAME_MAX))
    last_name = fields.String(validate=validate.Length(max=NAME_MAX))
    phone = fields.String(validate=validate.Length(min=1, max=PHONE_MAX))
    email = fields.Email(allow_none=True, validate=validate.Length(max=EMAIL_MAX))
    custom_fields = fields.Dict(**CUSTOM_FIELDS_INPUT)


class PageArgs(Schema):
    cursor = fields.String(
        validate=validate.Length(max=200), metadata={"description": "`next_cursor` of the last page."}
    )
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))


class MemberListArgs(PageArgs):
    group = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1), metadata={"description": "A group's id."})
    opted_out = fields.Boolean()
    updated_since = fields.AwareDateTime(
        default_timezone=None, metadata={"description": "ISO 8601 with a time zone, e.g. 2026-01-31T09:00:00Z"}
    )


class ConsentEventSchema(Schema):
    id = fields.Integer(required=True)
    action = fields.String(required=True, metadata={"enum": ["opt_in", "opt_out"]})
    source = fields.String(required=True)
    keyword = fields.String(required=True, allow_none=True)
    phone_number = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


ConsentPage = page("ConsentPage", ConsentEventSchema)


# --- groups -------------------------------------------------------------------------------------


class GroupSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True, allow_none=True)


GroupOne = one("GroupOne", GroupSchema)
GroupPage = page("GroupPage", GroupSchema)


class GroupInputSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class MemberIdsSchema(Schema):
    member_ids = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=2**63 - 1)),
        required=True,
        validate=validate.Length(min=1, max=MAX_BULK),
        metadata={"description": f"At most {MAX_BULK}; ids of other churches are ignored."},
    )


class BulkChangeSchema(Schema):
    changed = fields.Integer(required=True, metadata={"description": "Memberships added or removed."})


BulkResult = one("BulkResult", BulkChangeSchema)


# --- webhook endpoints --------------------------------------------------------------------------


class WebhookEndpointSchema(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    description = fields.String(required=True, allow_none=True)
    events = fields.List(fields.String(metadata={"enum": list(EVENT_TYPES)}), required=True)
    state = fields.String(
        required=True,
        metadata={"enum": list(ENDPOINT_STATES), "description": "`failing`: a delivery gave up after 24 hours."},
    )
    failing_since = fields.DateTime(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)


class WebhookEndpointCreatedSchema(WebhookEndpointSchema):
    secret = fields.String(
        required=True, metadata={"description": "`whsec_…`: the signing secret, shown in this answer only."}
    )


WebhookEndpointOne = one("WebhookEndpointOne", WebhookEndpointSchema)
WebhookEndpointCreated = one("NewWebhookEndpoint", WebhookEndpointCreatedSchema)
WebhookEndpointPage = page("WebhookEndpointPage", WebhookEndpointSchema)


class WebhookEndpointInputSchema(Schema):
    url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=URL_MAX),
        metadata={"description": "https, resolving to public addresses only."},
    )
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        required=True,
        validate=validate.Length(min=1, max=len(EVENT_TYPES)),
        metadata={"description": "The events to receive: " + ", ".join(EVENT_TYPES)},
    )
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class WebhookEndpointPatchSchema(Schema):
    url = fields.String(validate=validate.Length(min=1, max=URL_MAX))
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)), validate=validate.Length(min=1, max=len(EVENT_TYPES))
    )
    description = fields.String(allow_none=True, validate=validate.Length(max=200))
    disabled = fields.Boolean(metadata={"description": "true turns the endpoint off, false on again."})


class WebhookDeliverySchema(Schema):
    id = fields.Integer(required=True)
    event_id = fields.String(required=True, metadata={"description": "The `webhook-id` header: kept across retries."})
    type = fields.String(required=True, attribute="event_type")
    status = fields.String(required=True, metadata={"enum": list(DELIVERY_STATUSES)})
    attempts = fields.Integer(required=True)
    response_status = fields.Integer(required=True, allow_none=True)
    duration_ms = fields.Integer(required=True, allow_none=True)
    response_excerpt = fields.String(required=True, allow_none=True, metadata={"description": "At most 1 KB."})
    error = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    next_attempt_at = fields.DateTime(required=True, allow_none=True)


WebhookDeliveryOne = one("WebhookDeliveryOne", WebhookDeliverySchema)
WebhookDeliveryPage = page("WebhookDeliveryPage", WebhookDeliverySchema)
