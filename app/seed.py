"""Demo data for `flask seed-demo`: two churches, users, groups, members, conversations and
three months of broadcasts with their recipients and replies.

The dashboard's counters (daily_stats, member_counts, usage) are derived from those rows, so
`flask rebuild-stats` gives the same figures. Idempotent: running it again changes nothing
that already exists.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert

from app.extensions import db
from app.models import (
    Branch,
    Broadcast,
    Church,
    ConsentEvent,
    Conversation,
    ConversationMessage,
    Group,
    GroupLeader,
    GroupMember,
    Member,
    PhoneNumber,
)
from app.provisioning import get_or_create_church, upsert_user
from app.stats import church_day, rebuild
from app.usage import record_usage

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


def _members(church: Church, first_phone: int, count: int, branch: Branch | None) -> bool:
    """Insert `count` members set-based; the ones that already exist are left alone. True when any was new."""
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
            # Most signed up before the history began, a few joined during it.
            "consent_at": now - timedelta(days=100 - (i * 7) % 95),
            "created_at": now - timedelta(days=100 - (i * 7) % 95),
            "opted_out_at": now - timedelta(days=i % 5, hours=3) if i % 17 == 5 else None,
        }
        for i in range(count)
    ]
    if not rows:
        return False
    stmt = insert(Member).values(rows).on_conflict_do_nothing(index_elements=["church_id", "phone_e164"])
    new = db.session.execute(stmt.returning(Member.id, Member.consent_at, Member.opted_out_at)).all()
    events = [
        {
            "church_id": church.id,
            "member_id": mid,
            "action": "opt_in",
            "source": "form",
            "detail": "Signed up on the welcome card",
            "created_at": consent_at,
        }
        for mid, consent_at, _ in new
    ]
    events += [
        {
            "church_id": church.id,
            "member_id": mid,
            "action": "opt_out",
            "source": "keyword",
            "detail": "Replied STOP",
            "created_at": opted_out_at,
        }
        for mid, _, opted_out_at in new
        if opted_out_at is not None
    ]
    if events:
        db.session.execute(insert(ConsentEvent), events)
    return bool(new)


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


def _conversations(church: Church, number: PhoneNumber) -> bool:
    """A few recent threads, some still unread; False when the church already has conversations."""
    if db.session.scalar(select(func.count()).select_from(Conversation).where(Conversation.church_id == church.id)):
        return False
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
        # A conversation is opened by its member's first text.
        conv = Conversation(
            church_id=church.id, member_id=member.id, phone_number_id=number.id, status="open", created_at=started
        )
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
        last_at = started + timedelta(minutes=9 * (len(thread) - 1))
        conv.last_message_at = last_at
        conv.last_message_preview = thread[-1][1][:160]
        conv.last_inbound_at = last_at if thread[-1][0] == "in" else started
        if len(thread) > 1:
            conv.first_response_at = started + timedelta(minutes=9)
        if thread[-1][0] == "in":
            # Unread since the last text: what the unread-text mail waits on.
            conv.unread_count, conv.unread_since = 1, last_at
    return True


# What a church sends in a week: (weekday, local time, title, body, audience group or None for everyone).
WEEK = (
    (6, (8, 30), "Sunday reminder", "Good morning {first_name|friend}! Service starts at 10am. See you there.", None),
    (2, (12, 0), "Mid-week volunteers", "Hi {first_name|friend}, can you help set up on Sunday? Reply YES.", 2),
    (4, (16, 0), "Youth Friday", "Youth group tonight at 7pm in the fellowship hall. Bring a friend!", 0),
)
REPLIES = ("Amen!", "See you Sunday", "Thanks for the reminder", "YES", "I can help", "Running late, save me a seat")


def _history(
    church: Church, number: PhoneNumber, groups: list[Group], owner_id: int, week=WEEK, days: int = 90
) -> bool:
    """The broadcasts of the last `days` days, their recipients and the replies they drew.

    The rows the dashboard's figures are counted from: `flask rebuild-stats` gives back the
    figures the seed writes. Set-based: one statement for the broadcasts, one for all their
    recipients, one for the replies. Each broadcast has an idempotency key of its day, so a
    second run inserts nothing (a later run adds only the days since). True when it added rows.
    """
    zone = ZoneInfo(church.timezone)
    today = church_day(church.timezone)
    rows = []
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        for weekday, (hour, minute), title, body, group in week:
            if day.weekday() != weekday or (group is not None and group >= len(groups)):
                continue
            at = datetime.combine(day, time(hour, minute), zone).astimezone(UTC)
            audience = {"everyone": group is None, "group_ids": [] if group is None else [groups[group].id]}
            rows.append(
                {
                    "church_id": church.id,
                    "created_by_id": owner_id,
                    "title": f"{title}, {day:%b} {day.day}",
                    "body": body,
                    "audience": {**audience, "branch_ids": [], "member_ids": []},
                    "status": "sent",
                    "from_number": number.e164,
                    "created_at": at - timedelta(hours=20),
                    "started_at": at,
                    "completed_at": at + timedelta(minutes=5),
                    "idempotency_key": f"demo-{day.isoformat()}",
                    "encoding": "GSM-7",
                    "segments_per_message": 1,
                }
            )
    if not rows:
        return False
    stmt = insert(Broadcast).values(rows).on_conflict_do_nothing(index_elements=["church_id", "idempotency_key"])
    ids = db.session.scalars(stmt.returning(Broadcast.id)).all()
    if not ids:
        return False
    params = {"ids": list(ids), "c": church.id, "number": number.id, "replies": list(REPLIES)}
    # Everyone opted in when it went out, in its audience; a few failed, a few never confirmed.
    segments = db.session.scalar(
        text(
            """
            WITH inserted AS (
              INSERT INTO broadcast_recipients (church_id, broadcast_id, member_id, to_e164, status,
                provider_message_id, error_code, segments, cost, attempts, sent_at, delivered_at, failed_at)
              SELECT b.church_id, b.id, m.id, m.phone_e164,
                     CASE WHEN h.v < 2 THEN 'failed' WHEN h.v < 5 THEN 'sent' ELSE 'delivered' END,
                     'demo-' || b.id || '-' || m.id, CASE WHEN h.v < 2 THEN '40001' END,
                     b.segments_per_message, 0.004 * b.segments_per_message, 1, s.at,
                     CASE WHEN h.v >= 5 THEN s.at + (2 + h.v % 20) * interval '1 second' END,
                     CASE WHEN h.v < 2 THEN s.at + interval '30 seconds' END
              FROM broadcasts b
              JOIN members m ON m.church_id = b.church_id AND m.consent_at <= b.started_at
                            AND (m.opted_out_at IS NULL OR m.opted_out_at > b.started_at)
              CROSS JOIN LATERAL (SELECT (m.id * 31 + b.id * 17) % 100 AS v) h
              CROSS JOIN LATERAL (SELECT b.started_at + (m.id % 240) * interval '1 second' AS at) s
              WHERE b.id = ANY(:ids)
                AND ((b.audience ->> 'everyone')::boolean OR EXISTS (
                  SELECT 1 FROM group_members gm WHERE gm.member_id = m.id
                    AND b.audience -> 'group_ids' @> to_jsonb(gm.group_id)))
              ON CONFLICT DO NOTHING
              RETURNING broadcast_id, status, segments, sent_at
            ), counted AS (
              UPDATE broadcasts b SET recipient_count = c.total, sent_count = c.sent, delivered_count = c.delivered,
                                      failed_count = c.failed
              FROM (SELECT broadcast_id, count(*) AS total, count(*) FILTER (WHERE status = 'sent') AS sent,
                           count(*) FILTER (WHERE status = 'delivered') AS delivered,
                           count(*) FILTER (WHERE status = 'failed') AS failed
                    FROM inserted GROUP BY broadcast_id) c
              WHERE b.id = c.broadcast_id
            )
            SELECT coalesce(sum(segments) FILTER (WHERE sent_at >= date_trunc('month', now() AT TIME ZONE 'UTC')
                                                            AT TIME ZONE 'UTC'), 0)
            FROM inserted
            """
        ),
        params,
    )
    record_usage(church.id, int(segments or 0))
    # About one in eleven delivered texts drew a reply within the hour, into the member's conversation.
    replies = """
        SELECT r.church_id, r.member_id, r.broadcast_id,
               r.delivered_at + (3 + r.member_id % 50) * interval '1 minute' AS at,
               (CAST(:replies AS text[]))[1 + (r.member_id + r.broadcast_id) % cardinality(CAST(:replies AS text[]))]
                 AS body
        FROM broadcast_recipients r
        WHERE r.broadcast_id = ANY(:ids) AND r.status = 'delivered' AND (r.member_id * 7 + r.broadcast_id * 13) % 11 = 0
    """
    db.session.execute(
        text(
            f"INSERT INTO conversations (church_id, member_id, phone_number_id, status, created_at, last_message_at) "
            f"SELECT church_id, member_id, :number, 'open', min(at), min(at) FROM ({replies}) x "
            f"GROUP BY church_id, member_id ON CONFLICT (member_id, phone_number_id) DO NOTHING"
        ),
        params,
    )
    db.session.execute(
        text(
            f"INSERT INTO conversation_messages (church_id, conversation_id, direction, body, status, broadcast_id, "
            f"created_at) SELECT x.church_id, c.id, 'in', x.body, 'received', x.broadcast_id, x.at FROM ({replies}) x "
            f"JOIN conversations c ON c.member_id = x.member_id AND c.phone_number_id = :number"
        ),
        params,
    )
    # Each conversation's summary columns from its messages (the scripted recent ones included); one
    # opened by a reply begins with it, an answered recent one keeps the start its response is timed from.
    db.session.execute(
        text(
            """
            UPDATE conversations c SET last_message_at = s.last_at,
                   created_at = CASE WHEN c.first_response_at IS NULL THEN least(c.created_at, s.first_in)
                                     ELSE c.created_at END,
                   last_message_preview = left(s.last_body, 160), last_inbound_at = s.last_in
            FROM (SELECT conversation_id, min(created_at) FILTER (WHERE direction = 'in') AS first_in,
                         max(created_at) AS last_at, max(created_at) FILTER (WHERE direction = 'in') AS last_in,
                         (array_agg(body ORDER BY created_at DESC, id DESC))[1] AS last_body
                  FROM conversation_messages WHERE church_id = :c GROUP BY conversation_id) s
            WHERE c.id = s.conversation_id AND c.church_id = :c
            """
        ),
        params,
    )
    return True


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
    changed = _members(grace, 1000, member_count, downtown)
    _memberships(grace, groups)
    changed |= _conversations(grace, grace_number)
    changed |= _history(grace, grace_number, groups, owner.id)
    if changed:
        # The dashboard's counters, from the rows just written: what `flask rebuild-stats` gives.
        rebuild(grace.id)

    hope = get_or_create_church("Hope Chapel", "America/Chicago")
    hope_owner = upsert_user(hope, "admin@hope.example.org", DEMO_PASSWORD, "owner", "Pastor Joy")
    hope_number = _number(hope, "+13125550200", default=True)
    hope_groups = [_get_or_create(Group, hope, name="Prayer Team")]
    _get_or_create(Branch, hope, name="Northside")
    changed = _members(hope, 9000, 8, None)
    _memberships(hope, hope_groups)
    changed |= _conversations(hope, hope_number)
    changed |= _history(hope, hope_number, hope_groups, hope_owner.id, week=WEEK[:1])
    if changed:
        rebuild(hope.id)
    db.session.flush()
    count = db.session.scalar(select(func.count()).select_from(Member).where(Member.church_id == grace.id))
    return f"Demo data ready: {grace.name} ({count} members, owner {owner.email}), {hope.name}."
