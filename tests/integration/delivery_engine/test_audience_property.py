"""Property: over random audiences and random opt-outs, no opted-out member is ever a recipient."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text, update

from app.broadcasts.audience import AudienceSpec, audience_counts, recipients_select
from app.models import Branch, Group, GroupMember, Member


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_opted_out_member_is_ever_selected(db, church, data):
    members = db.session.execute(
        select(Member.id, Member.branch_id).where(Member.church_id == church.id).order_by(Member.id)
    ).all()
    groups = db.session.scalars(select(Group.id).where(Group.church_id == church.id)).all()
    branches = db.session.scalars(select(Branch.id).where(Branch.church_id == church.id)).all()
    ids = [m.id for m in members]
    spec = AudienceSpec(
        everyone=data.draw(st.booleans()),
        group_ids=data.draw(st.lists(st.sampled_from(groups), unique=True)),
        branch_ids=data.draw(st.lists(st.sampled_from(branches), unique=True)),
        member_ids=data.draw(st.lists(st.sampled_from(ids), unique=True, max_size=10)),
    )
    opt_outs = set(data.draw(st.lists(st.sampled_from(ids), unique=True)))
    with db.session.begin_nested() as savepoint:
        db.session.execute(update(Member).where(Member.church_id == church.id).values(opted_out_at=None))
        if opt_outs:
            db.session.execute(update(Member).where(Member.id.in_(opt_outs)).values(opted_out_at=text("now()")))
        chosen = {row.member_id for row in db.session.execute(recipients_select(church.id, spec))}
        in_groups = set(
            db.session.scalars(select(GroupMember.member_id).where(GroupMember.group_id.in_(spec.group_ids)))
        )
        expected = {
            m.id
            for m in members
            if spec.everyone or m.id in in_groups or m.branch_id in spec.branch_ids or m.id in spec.member_ids
        } - opt_outs
        assert chosen.isdisjoint(opt_outs)
        assert chosen == expected
        assert audience_counts(church.id, spec).recipients == len(expected)
        savepoint.rollback()
