"""Demo data for `flask seed-demo`: two churches, users, groups, members and conversations.

Idempotent: running it again changes nothing that already exists.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from app.extensions import db
from app.models import (
    Branch,
    Church,
    ConsentEvent,
    Conversation,
    ConversationMessage,
    DailyStat,
    Group,
    GroupLeader,
    GroupMember,
    Member,
    PhoneNumber,
)
from app.provisioning import get_or_create_church, upsert_user
from app.stats import church_day

DEMO_PASSWORD = "koinonia-demo"
FIRST = [
    "Grace",
    "Samuel",
    "Ruth",
    "David",
    "Esther",
    "Daniel",
    "Mary",
    "Joshua",
    "Hannah",
    "Caleb",
    "Naomi",
    "Isaac",
    "Lydia",
    "Elijah",
    "Miriam",
    "Gideon",
    "Priscilla",
    "Levi",
    "Tabitha",
    "Micah",
]
LAST = [
    "Okafor",
    "Johnson",
    "Nguyen",
    "Garcia",
    "Mensah",
    "Smith",
    "Kim",
    "Adeyemi",
    "Lopez",
    "Brown",
    "Wilson",
    "Osei",
    "Martinez",
    "Davis",
    "Chen",
    "Taylor",
    "Boateng",
    "Clark",
    "Rivera",
    "Moore",
]


def _get_or_create(model, church: Church, **fields):
    obj = db.session.scalar(select(model).filter_by(church_id=church.id, **fields))
    if obj is None:
        obj = model(church_id=church.id, **fields)
        db.session.add(obj)
        db.session.flush()
    return obj


def _number(church: Church, e164: str, branch: Branch | None = None, *, default: bool = False) -> PhoneNumber:
    number = db.session.scalar(select(PhoneNumber).where(PhoneNumber.e164 == e164))
    if number is None:
        number = PhoneNumber(church_id=church.id, e164=e164, is_default=default, branch_id=branch and branch.id)
        db.session.add(number)
        db.session.flush()
    return number


def _members(church: Church, first_phone: int, count: int, branch: Branch | None) -> None:
    """Insert `count` members set-based; the ones that already exist are left alone."""
    now = datetime.now(UTC)
    rows = [
        {
            "church_id": church.id,
            "first_name": FIRST[i % len(FIRST)],
            "last_name": LAST[(i * 7 + i // len(FIRST)) % len(LAST)],
            "phone_e164": f"+1312555{first_phone + i:04d}",
            "email": f"member{i + 1}@example.net" if i % 3 else None,
            "branch_id": branch.id if branch and i % 4 == 0 else None,
            "consent_source": "form",
            "consent_at": now - timedelta(days=90 - i % 60),
            "opted_out_at": now - timedelta(days=i % 20) if i % 17 == 5 else None,
        }
        for i in range(count)
    ]
    if not rows:
        return
    stmt = insert(Member).values(rows).on_conflict_do_nothing(index_elements=["church_id", "phone_e164"])
    new_ids = db.session.scalars(stmt.returning(Member.id)).all()
    if new_ids:
        db.session.execute(
            insert(ConsentEvent),
            [
                {
                    "church_id": church.id,
                    "member_id": mid,
                    "action": "opt_in",
                    "source": "form",
                    "detail": "Signed up on the welcome card",
                }
                for mid in new_ids
            ],
        )


def _memberships(church: Church, groups: list[Group]) -> None:
    """Spread members over groups deterministically (set-based, idempotent)."""
    for n, group in enumerate(groups):
        rows = (
            db.session.execute(select(Member.id).where(Member.church_id == church.id, (Member.id % (n + 2)) == 0))
            .scalars()
            .all()
        )
        if rows:
            db.session.execute(
                insert(GroupMember)
                .values([{"church_id": church.id, "group_id": group.id, "member_id": mid} for mid in rows])
                .on_conflict_do_nothing()
            )


def _conversations(church: Church, number: PhoneNumber) -> None:
    if db.session.scalar(select(func.count()).select_from(Conversation).where(Conversation.church_id == church.id)):
        return
    members = db.session.scalars(
        select(Member).where(Member.church_id == church.id, Member.opted_out_at.is_(None)).order_by(Member.id).limit(5)
    ).all()
    now = datetime.now(UTC)
    lines = [
        ("in", "Hi! Is youth group still meeting this Friday?"),
        ("out", "Yes, 7pm in the fellowship hall. See you there!"),
        ("in", "Can I bring a friend?"),
    ]
    for k, member in enumerate(members):
        started = now - timedelta(hours=5 * (k + 1))
        conv = Conversation(church_id=church.id, member_id=member.id, phone_number_id=number.id, status="open")
        db.session.add(conv)
        db.session.flush()
        thread = lines[: 1 + (k % 3)]
        for j, (direction, body) in enumerate(thread):
            db.session.add(
                ConversationMessage(
                    church_id=church.id,
                    conversation_id=conv.id,
                    direction=direction,
                    body=body,
                    status="received" if direction == "in" else "delivered",
                    created_at=started + timedelta(minutes=9 * j),
                )
            )
        conv.last_message_at = started + timedelta(minutes=9 * (len(thread) - 1))
        conv.last_message_preview = thread[-1][1][:160]
        conv.last_inbound_at = conv.last_message_at if thread[-1][0] == "in" else started
        conv.unread_count = 1 if thread[-1][0] == "in" else 0


def _stats_history(church: Church, days: int = 90) -> None:
    """Plausible daily_stats for the last `days` days so the dashboard's charts have a shape.

    Sunday reminders go to everyone, a mid-week note to most, a Friday youth text to some;
    replies and opt-outs follow. Only written when the church has no history yet, so a real
    church's figures are never touched (`flask rebuild-stats` recomputes from real rows).
    """
    today = church_day(church.timezone)
    if db.session.scalar(select(func.count()).select_from(DailyStat).where(DailyStat.church_id == church.id)):
        return
    audience = db.session.scalar(
        select(func.count()).select_from(Member).where(Member.church_id == church.id, Member.opted_out_at.is_(None))
    )
    rng, rows = Random(church.id), []
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        share = {6: 1.0, 2: 0.7, 4: 0.35}.get(day.weekday(), 0.0)  # Sunday, Wednesday, Friday
        sent = round(audience * share * rng.uniform(0.93, 1.0)) if share else 0
        failed = round(sent * rng.uniform(0.0, 0.03))
        rows.append(
            {
                "church_id": church.id,
                "day": day,
                "sent": sent,
                "delivered": sent - failed - (1 if sent and rng.random() < 0.2 else 0),
                "failed": failed,
                "inbound": round(sent * rng.uniform(0.06, 0.16)) + rng.randint(0, 2),
                "opt_outs": 1 if sent and rng.random() < 0.12 else 0,
                "opt_ins": 1 if rng.random() < 0.1 else 0,
                "segments": round(sent * rng.choice((1, 1, 2))),
            }
        )
    db.session.execute(insert(DailyStat).values(rows).on_conflict_do_nothing())


def seed_demo(member_count: int = 60) -> str:
    """Create or complete the demo data; returns a one-line summary."""
    grace = get_or_create_church("Grace Community Church", "America/Chicago")
    owner = upsert_user(grace, "admin@example.org", DEMO_PASSWORD, "owner", "Pastor Ade")
    leader = upsert_user(grace, "leader@example.org", DEMO_PASSWORD, "leader", "Rachel (Youth)")
    downtown = _get_or_create(Branch, grace, name="Downtown")
    grace_number = _number(grace, "+13125550100", default=True)
    groups = [_get_or_create(Group, grace, name=n) for n in ("Youth", "Worship Team", "Volunteers")]
    db.session.execute(
        insert(GroupLeader)
        .values(church_id=grace.id, group_id=groups[0].id, user_id=leader.id)
        .on_conflict_do_nothing()
    )
    _members(grace, 1000, member_count, downtown)
    _memberships(grace, groups)
    _conversations(grace, grace_number)
    _stats_history(grace)

    hope = get_or_create_church("Hope Chapel", "America/Chicago")
    upsert_user(hope, "admin@hope.example.org", DEMO_PASSWORD, "owner", "Pastor Joy")
    hope_number = _number(hope, "+13125550200", default=True)
    hope_groups = [_get_or_create(Group, hope, name="Prayer Team")]
    _get_or_create(Branch, hope, name="Northside")
    _members(hope, 9000, 8, None)
    _memberships(hope, hope_groups)
    _conversations(hope, hope_number)
    db.session.flush()
    count = db.session.scalar(select(func.count()).select_from(Member).where(Member.church_id == grace.id))
    return f"Demo data ready: {grace.name} ({count} members, owner {owner.email}), {hope.name}."
