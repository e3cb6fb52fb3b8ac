"""Texting a member first: "New text" in the inbox and "Text" on the member page.

The text goes through the inbox reply's own path (`services.reply`: opt-out, length, allowance,
queued on the high queue) in the member's conversation on the number the church would use for
them (their branch's, else the church's default), opened if they never wrote.
"""

from __future__ import annotations

from sqlalchemy import select

from app.errors import PermissionDenied, ValidationError
from app.extensions import db
from app.inbox.inbound import find_or_open_conversation
from app.inbox.services import opt_out_reason, reply
from app.models import Church, ConversationMessage, Member, PhoneNumber, User
from app.people.queries import leader_scope, search_condition
from app.people.services import can_see_member

MAX_MATCHES = 10


def candidates(user: User, q: str) -> list[Member]:
    """Members this user may text whose name or number matches `q` (opted-out ones left out)."""
    church = db.session.get(Church, user.church_id)
    condition = search_condition(q, church.country)
    if condition is None:
        return []
    stmt = select(Member).where(
        Member.church_id == user.church_id,
        Member.opted_out_at.is_(None),
        Member.phone_e164.is_not(None),
        condition,
    )
    scope = leader_scope(user)
    if scope is not None:
        stmt = stmt.where(scope)
    return list(db.session.scalars(stmt.order_by(Member.first_name, Member.last_name, Member.id).limit(MAX_MATCHES)))


def number_for(member: Member) -> PhoneNumber | None:
    """The church number a first text to this member comes from: their branch's, else the default."""
    numbers = select(PhoneNumber).where(PhoneNumber.church_id == member.church_id)
    if member.branch_id is not None:
        found = db.session.scalar(numbers.where(PhoneNumber.branch_id == member.branch_id).order_by(PhoneNumber.id))
        if found is not None:
            return found
    return db.session.scalar(numbers.order_by(PhoneNumber.is_default.desc(), PhoneNumber.id).limit(1))


def start(user: User, member: Member, body: str, media: list[dict] | None = None) -> ConversationMessage:
    """Queue `body` (and a picture) to `member` in their conversation (opened if need be), as a reply is."""
    if not can_see_member(user, member):
        raise PermissionDenied("This member is not in a group you lead.")
    reason = opt_out_reason(member)
    if reason:
        raise PermissionDenied(reason)
    number = number_for(member)
    if number is None:
        raise ValidationError("This church has no sending number yet. Add one in Settings first.")
    conversation = find_or_open_conversation(member.church_id, member.id, number)
    return reply(conversation, user, body, media)
