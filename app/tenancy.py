"""Tenant scoping: every query over tenant data goes through these helpers.

`scoped(Model)` is a SELECT already filtered on the signed-in user's church, and the
`get_*_or_404` helpers load one row by id and answer 404 when it belongs to another
church, so another tenant's ids are indistinguishable from ids that do not exist.
"""

from __future__ import annotations

from typing import TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, select

from app.extensions import db
from app.models import (
    AccountToken,
    ApiKey,
    Branch,
    Broadcast,
    BroadcastRecipient,
    Conversation,
    ConversationMessage,
    ConversationNote,
    CustomField,
    DeadLetter,
    Group,
    Keyword,
    Member,
    MemberImport,
    Passkey,
    PhoneNumber,
    Schedule,
    Template,
    User,
    WebhookDelivery,
    WebhookEndpoint,
    Workflow,
)

M = TypeVar("M")

# URL parameter name -> the model its id points at. The tenant-isolation test walks every
# route with one of these parameters; a route with an id parameter missing here fails it.
ID_PARAMS: dict[str, type] = {
    "member_id": Member,
    "group_id": Group,
    "branch_id": Branch,
    "number_id": PhoneNumber,
    "user_id": User,
    "broadcast_id": Broadcast,
    "recipient_id": BroadcastRecipient,
    "template_id": Template,
    "schedule_id": Schedule,
    "conversation_id": Conversation,
    "message_id": ConversationMessage,
    "note_id": ConversationNote,
    "keyword_id": Keyword,
    "dead_letter_id": DeadLetter,
    "import_id": MemberImport,
    "passkey_id": Passkey,
    "invitation_id": AccountToken,  # a staff invitation (app.accounts.invitations)
    "api_key_id": ApiKey,
    "endpoint_id": WebhookEndpoint,  # an outbound webhook endpoint
    "delivery_id": WebhookDelivery,
    "workflow_id": Workflow,
    "field_id": CustomField,
}


def current_church_id() -> int:
    """The signed-in user's church; 401 if nobody is signed in."""
    if not current_user.is_authenticated:
        abort(401)
    return current_user.church_id


def scoped(model: type[M], church_id: int | None = None) -> Select[tuple[M]]:
    """SELECT model rows of the current church only (or of `church_id`, for services run outside a request)."""
    return select(model).where(model.church_id == (church_id if church_id is not None else current_church_id()))


def get_or_404(model: type[M], obj_id: int) -> M:
    """Load one row of the current church by id, or 404 (also for other churches' ids)."""
    obj = db.session.scalar(scoped(model).where(model.id == obj_id))
    if obj is None:
        abort(404)
    return obj


def get_member_or_404(member_id: int) -> Member:
    return get_or_404(Member, member_id)


def get_group_or_404(group_id: int) -> Group:
    return get_or_404(Group, group_id)


def get_branch_or_404(branch_id: int) -> Branch:
    return get_or_404(Branch, branch_id)


def get_broadcast_or_404(broadcast_id: int) -> Broadcast:
    return get_or_404(Broadcast, broadcast_id)


def get_conversation_or_404(conversation_id: int) -> Conversation:
    return get_or_404(Conversation, conversation_id)
