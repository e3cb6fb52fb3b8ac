"""The shapes of broadcasts, conversations and their messages: request validation and the document.

A broadcast answers its live counts (`counts`, read from the counters the workers and delivery
receipts keep); creating one answers the composer's warnings beside it.
"""

from __future__ import annotations

from datetime import UTC

from marshmallow import Schema, ValidationError, fields, post_load, validate

from app.api.v1.schemas import MemberSummarySchema, PageArgs, one, page
from app.broadcasts.drafts import MAX_MEDIA
from app.broadcasts.forms import MAX_BODY, MAX_PEOPLE
from app.inbox.services import MAX_BODY as MAX_REPLY
from app.merge import TITLE_MAX
from app.models.inbox import CONVERSATION_STATUSES, DIRECTIONS, MESSAGE_STATUSES
from app.models.messaging import BROADCAST_STATUSES

MAX_IDS = 200  # groups or branches named by one broadcast
MAX_URL = 2048
ID_RANGE = validate.Range(min=1, max=2**63 - 1)


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Write the message first.")


def _ids(most: int, about: str) -> fields.List:
    return fields.List(
        fields.Integer(validate=ID_RANGE),
        load_default=list,
        validate=validate.Length(max=most),
        metadata={"description": f"{about} At most {most:,}."},
    )


# --- broadcasts ---------------------------------------------------------------------------------


class AudienceInputSchema(Schema):
    """Who gets it: any mix of everyone, groups, branches and members (each reached once)."""

    everyone = fields.Boolean(load_default=False, metadata={"description": "Every member of the church."})
    group_ids = _ids(MAX_IDS, "Members of these groups.")
    branch_ids = _ids(MAX_IDS, "Members of these branches.")
    member_ids = _ids(MAX_PEOPLE, "These members.")


class AudienceSchema(Schema):
    everyone = fields.Boolean(required=True)
    group_ids = fields.List(fields.Integer(), required=True)
    branch_ids = fields.List(fields.Integer(), required=True)
    member_ids = fields.List(fields.Integer(), required=True)


class BroadcastInputSchema(Schema):
    """A broadcast as the composer sends it: now, or at `send_at`."""

    body = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=MAX_BODY), _not_blank],
        metadata={"description": "The text; merge fields such as {first_name|friend} are filled in per member."},
    )
    title = fields.String(
        allow_none=True,
        validate=validate.Length(max=TITLE_MAX),
        metadata={"description": "A name for lists; never sent."},
    )
    media_url = fields.String(
        validate=validate.Length(min=1, max=MAX_URL),
        metadata={"description": "An https:// link to a picture or file, sent as MMS."},
    )
    media_urls = fields.List(
        fields.String(validate=validate.Length(min=1, max=MAX_URL)),
        validate=validate.Length(max=MAX_MEDIA),
        metadata={"description": f"Several https:// links (with `media_url`, at most {MAX_MEDIA} in all)."},
    )
    audience = fields.Nested(AudienceInputSchema, required=True)
    track_links = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Each recipient's text carries a short /l/<code> link of the church's own in place of "
            "each link in the body, so clicks are counted (as the composer's Track links)."
        },
    )
    send_at = fields.AwareDateTime(
        default_timezone=None,
        allow_none=True,
        metadata={"description": "When to send, ISO 8601 with a time zone, in the future; absent or null: now."},
    )

    @post_load
    def _plain(self, data: dict, **_kwargs) -> dict:
        """One list of media links; `send_at` in UTC (a date that cannot be is a field error)."""
        data["media_urls"] = [*([data.pop("media_url")] if "media_url" in data else []), *data.get("media_urls", [])]
        if data.get("send_at") is not None:
            try:
                data["send_at"] = data["send_at"].astimezone(UTC)
            except (OverflowError, ValueError):
                raise ValidationError("Not a time Koinonia can send at.", field_name="send_at") from None
        return data


class BroadcastCountsSchema(Schema):
    """Recipients by where their text is now; `total` is the sum."""

    total = fields.Integer(required=True)
    queued = fields.Integer(required=True, metadata={"description": "Not sent yet (held by schedule or quiet hours)."})
    sent = fields.Integer(required=True, metadata={"description": "Accepted by the carrier, no receipt yet."})
    delivered = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    skipped = fields.Integer(required=True, metadata={"description": "Not sent: cancelled, or opted out meanwhile."})
    unknown = fields.Integer(required=True, metadata={"description": "No receipt came."})


class BroadcastSchema(Schema):
    id = fields.Integer(required=True)
    title = fields.String(required=True, allow_none=True)
    body = fields.String(required=True)
    media_urls = fields.List(fields.String(), required=True)
    track_links = fields.Boolean(required=True, metadata={"description": "Its links are tracked (/l/<code>)."})
    status = fields.String(required=True, metadata={"enum": list(BROADCAST_STATUSES)})
    audience = fields.Nested(AudienceSchema, required=True)
    from_number = fields.String(required=True, allow_none=True, metadata={"description": "E.164"})
    scheduled_at = fields.DateTime(required=True, allow_none=True)
    started_at = fields.DateTime(required=True, allow_none=True)
    completed_at = fields.DateTime(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    counts = fields.Nested(BroadcastCountsSchema, required=True)
    done = fields.Boolean(
        required=True, metadata={"description": "Nothing more will change: every recipient settled, or cancelled."}
    )


class LeftOutSchema(Schema):
    opted_out = fields.Integer(required=True, metadata={"description": "Chosen but opted out: not texted."})
    no_phone = fields.Integer(required=True, metadata={"description": "Chosen but without a phone number."})


class BroadcastCreatedSchema(Schema):
    data = fields.Nested(BroadcastSchema, required=True)
    warnings = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "What the composer warns of before sending (links, length, quiet hours…)."},
    )
    left_out = fields.Nested(LeftOutSchema, required=True)


BroadcastOne = one("BroadcastOne", BroadcastSchema)
BroadcastPage = page("BroadcastPage", BroadcastSchema)


# --- conversations ------------------------------------------------------------------------------


class ConversationSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": list(CONVERSATION_STATUSES)})
    unread_count = fields.Integer(required=True)
    assignee_id = fields.Integer(required=True, allow_none=True, metadata={"description": "The staff member's id."})
    last_message_at = fields.DateTime(required=True, allow_none=True)
    last_message_preview = fields.String(required=True, allow_none=True)
    member = fields.Nested(MemberSummarySchema, required=True)


ConversationOne = one("ConversationOne", ConversationSchema)
ConversationPage = page("ConversationPage", ConversationSchema)


class ConversationListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(CONVERSATION_STATUSES))
    assigned = fields.Boolean(metadata={"description": "true: assigned to someone; false: to nobody."})
    unread = fields.Boolean(metadata={"description": "true: with unread texts; false: all read."})


class MessageSchema(Schema):
    id = fields.Integer(required=True)
    conversation_id = fields.Integer(required=True)
    direction = fields.String(required=True, metadata={"enum": list(DIRECTIONS)})
    body = fields.String(required=True)
    media_urls = fields.List(fields.String(), required=True)
    status = fields.String(required=True, metadata={"enum": list(MESSAGE_STATUSES)})
    error_code = fields.String(required=True, allow_none=True)
    sent_by = fields.String(
        required=True,
        metadata={
            "enum": ["member", "staff", "api", "automatic"],
            "description": "Who wrote it: the member (inbound), a staff member, an API key, or Koinonia itself.",
        },
    )
    broadcast_id = fields.Integer(
        required=True, allow_none=True, metadata={"description": "The broadcast an inbound text answers."}
    )
    created_at = fields.DateTime(required=True)


MessageOne = one("MessageOne", MessageSchema)
MessagePage = page("MessagePage", MessageSchema)


class ReplyInputSchema(Schema):
    body = fields.String(required=True, validate=[validate.Length(min=1, max=MAX_REPLY), _not_blank])
