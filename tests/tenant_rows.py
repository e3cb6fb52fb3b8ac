"""Find or make one row of each tenant model in a church, for the isolation walk."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Branch,
    Broadcast,
    BroadcastRecipient,
    Conversation,
    ConversationMessage,
    ConversationNote,
    DeadLetter,
    Group,
    Keyword,
    Member,
    MemberImport,
    PhoneNumber,
    Schedule,
    Template,
    User,
)


def _first(model, church):
    return db.session.scalar(select(model.id).where(model.church_id == church.id).order_by(model.id).limit(1))


def _build(model, church):
    cid = church.id
    member = lambda: ensure_row(Member, church)  # noqa: E731
    builders = {
        Member: lambda: Member(church_id=cid, first_name="Iso", last_name="Lation", phone_e164="+17735550999"),
        Group: lambda: Group(church_id=cid, name="Isolation group"),
        Branch: lambda: Branch(church_id=cid, name="Isolation branch"),
        PhoneNumber: lambda: PhoneNumber(church_id=cid, e164="+17735550998"),
        User: lambda: User(church_id=cid, email="iso@example.org", role="admin", password_hash="x"),
        Template: lambda: Template(church_id=cid, name="Iso", body="Hi"),
        Schedule: lambda: Schedule(church_id=cid, body="Hi", rrule="FREQ=WEEKLY"),
        Broadcast: lambda: Broadcast(church_id=cid, body="Hi"),
        BroadcastRecipient: lambda: BroadcastRecipient(
            church_id=cid, broadcast_id=ensure_row(Broadcast, church), member_id=member(), to_e164="+17735550999"
        ),
        Conversation: lambda: Conversation(church_id=cid, member_id=member()),
        ConversationMessage: lambda: ConversationMessage(
            church_id=cid,
            conversation_id=ensure_row(Conversation, church),
            direction="in",
            body="hi",
            status="received",
        ),
        ConversationNote: lambda: ConversationNote(
            church_id=cid, conversation_id=ensure_row(Conversation, church), body="note"
        ),
        Keyword: lambda: Keyword(church_id=cid, word="ISO"),
        DeadLetter: lambda: DeadLetter(church_id=cid, kind="send_batch", payload={}, error="boom"),
        MemberImport: lambda: MemberImport(church_id=cid, filename="iso.csv", content=b"phone\n", status="done"),
    }
    if model not in builders:
        raise AssertionError(f"tests/tenant_rows.py does not know how to make a {model.__name__}")
    return builders[model]()


def ensure_row(model, church) -> int:
    """The id of a `model` row owned by `church`, created if the church has none."""
    existing = _first(model, church)
    if existing is not None:
        return existing
    row = _build(model, church)
    db.session.add(row)
    db.session.flush()
    return row.id
