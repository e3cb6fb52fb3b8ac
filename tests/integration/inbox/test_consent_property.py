"""Property: whatever the order of STOP / START / REVOKE texts and broadcasts, no broadcast
reaches a member whose last keyword opted them out (and every other one does)."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.inbox.inbound import handle_received
from app.models import Broadcast, BroadcastRecipient, GroupMember, Member
from tests.integration.inbox.conftest import telnyx_payload

OPT_OUT = ("STOP", "stop", "Stop all", "REVOKE", "revoke ", "OptOut")
OPT_IN = ("START", "start", " Unstop")
steps = st.lists(
    st.one_of(
        st.sampled_from(OPT_OUT).map(lambda w: ("text", w, False)),
        st.sampled_from(OPT_IN).map(lambda w: ("text", w, True)),
        st.just(("broadcast", None, None)),
    ),
    min_size=1,
    max_size=12,
)
_phones = itertools.count(100)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=steps)
def test_no_broadcast_reaches_a_member_whose_last_keyword_opted_out(db, church, sequence):
    from app.broadcasts.audience import AudienceSpec
    from app.broadcasts.services import insert_recipients

    savepoint = db.session.begin_nested()
    try:
        phone = f"+1331555{next(_phones) % 10000:04d}"
        member = Member(church_id=church.id, first_name="Prop", last_name="Erty", phone_e164=phone)
        db.session.add(member)
        db.session.flush()
        group_id = db.session.scalar(select(GroupMember.group_id).where(GroupMember.church_id == church.id).limit(1))
        db.session.add(GroupMember(church_id=church.id, group_id=group_id, member_id=member.id))
        db.session.flush()
        subscribed = True
        for kind, word, opts_in in sequence:
            if kind == "text":
                handle_received(telnyx_payload(phone, text=word), None)
                db.session.flush()
                subscribed = opts_in
                continue
            spec = AudienceSpec(group_ids=[group_id])
            broadcast = Broadcast(church_id=church.id, body="Hello", status="sending", audience=spec.to_dict())
            db.session.add(broadcast)
            db.session.flush()
            insert_recipients(church.id, broadcast.id, spec)
            reached = db.session.scalar(
                select(BroadcastRecipient.id).where(
                    BroadcastRecipient.broadcast_id == broadcast.id, BroadcastRecipient.member_id == member.id
                )
            )
            assert (reached is not None) == subscribed, (sequence, kind)
    finally:
        savepoint.rollback()
