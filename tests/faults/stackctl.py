"""App-side set-up for the fault suite, run in the stack's environment (a subprocess).

    python -m tests.faults.stackctl audience 20000      a group of that many members; prints its id
    python -m tests.faults.stackctl broadcast GROUP_ID  the owner sends to it now; prints its id
    python -m tests.faults.stackctl import N FIRST      the owner imports N new members; prints its id
    python -m tests.faults.stackctl reply               the owner replies in a thread; prints the message id

The last line printed is JSON. Set-based, as the app itself creates recipients.
"""

from __future__ import annotations

import json
import sys
import uuid

from sqlalchemy import select, text

from app import create_app
from app.broadcasts.audience import AudienceSpec
from app.broadcasts.services import create_broadcast
from app.extensions import db
from app.inbox import services as inbox
from app.models import Church, Conversation, Group, Member, User
from app.people.imports import services as imports

CHURCH = "Grace Community Church"


def _church() -> Church:
    return db.session.scalar(select(Church).where(Church.name == CHURCH))


def audience(n: int) -> dict:
    church = _church()
    church.quiet_hours_start = church.quiet_hours_end = None
    church.sms_quota = 10_000_000
    group = Group(church_id=church.id, name=f"Fault broadcast {uuid.uuid4().hex[:6]}")
    db.session.add(group)
    db.session.flush()
    # +1 555 3xx xxxx: a block no demo member uses.
    db.session.execute(
        text(
            "INSERT INTO members (church_id, first_name, last_name, phone_e164, created_at, updated_at) "
            "SELECT :c, 'Member' || i, 'Fault', '+15553' || lpad(i::text, 6, '0'), now(), now() "
            "FROM generate_series(1, :n) AS i"
        ),
        {"c": church.id, "n": n},
    )
    db.session.execute(
        text(
            "INSERT INTO group_members (church_id, group_id, member_id) "
            "SELECT :c, :g, id FROM members WHERE church_id = :c AND phone_e164 LIKE '+15553%'"
        ),
        {"c": church.id, "g": group.id},
    )
    db.session.commit()
    return {"group_id": group.id, "church_id": church.id}


def broadcast(group_id: int) -> dict:
    church = _church()
    owner = db.session.scalar(select(User).where(User.email == "admin@example.org"))
    created = create_broadcast(
        church,
        owner,
        body="Hi {first_name|friend}, the fault drill starts Sunday at {church_name}.",
        media_urls=[],
        spec=AudienceSpec(group_ids=[group_id]),
        idempotency_key=uuid.uuid4().hex,
    )
    return {"id": created.id, "recipients": created.recipient_count}


def _owner() -> User:
    return db.session.scalar(select(User).where(User.email == "admin@example.org"))


def member_import(n: int, first: int) -> dict:
    """Upload and start an import of n members (+1 617 <first + i>), as the import pages do."""
    church = _church()
    tag = uuid.uuid4().hex[:6]
    rows = "".join(f"Imported{i},Fault{tag},+1617{first + i:07d},,Imported {tag},\n" for i in range(n))
    data = ("First name,Last name,Phone,Email,Groups,Branch\n" + rows).encode()
    imp = imports.create_draft(church, _owner().id, f"fault-{tag}.csv", data)
    imports.start(imp, imp.mapping, False)
    return {"id": imp.id, "rows": n}


def reply() -> dict:
    """A staff reply in a thread with a demo member who can be texted."""
    church = _church()
    member = db.session.scalar(
        select(Member)
        .where(Member.church_id == church.id, Member.opted_out_at.is_(None), Member.phone_e164.like("+1%"))
        .where(~Member.phone_e164.like("+1555%"))
        .order_by(Member.id)
    )
    conversation = db.session.scalar(select(Conversation).where(Conversation.member_id == member.id))
    if conversation is None:
        conversation = Conversation(church_id=church.id, member_id=member.id)
        db.session.add(conversation)
        db.session.flush()
    message = inbox.reply(conversation, _owner(), f"Fault drill reply {uuid.uuid4().hex[:6]}")
    db.session.commit()  # the send job is queued after the commit
    return {"id": message.id, "to": member.phone_e164}


def main(argv: list[str]) -> int:
    app = create_app()
    with app.app_context():
        if argv[:1] == ["audience"]:
            out = audience(int(argv[1]))
        elif argv[:1] == ["broadcast"]:
            out = broadcast(int(argv[1]))
        elif argv[:1] == ["import"]:
            out = member_import(int(argv[1]), int(argv[2]))
        elif argv[:1] == ["reply"]:
            out = reply()
        else:
            print(__doc__, file=sys.stderr)
            return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
