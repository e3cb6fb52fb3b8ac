"""App-side set-up for the fault suite, run in the stack's environment (a subprocess).

    python -m tests.faults.stackctl audience 20000      a group of that many members; prints its id
    python -m tests.faults.stackctl broadcast GROUP_ID  the owner sends to it now; prints its id

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
from app.models import Church, Group, User

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


def main(argv: list[str]) -> int:
    app = create_app()
    with app.app_context():
        if argv[:1] == ["audience"]:
            out = audience(int(argv[1]))
        elif argv[:1] == ["broadcast"]:
            out = broadcast(int(argv[1]))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
