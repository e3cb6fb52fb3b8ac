"""CSV downloads of a broadcast's recipients, a conversation's thread and the consent ledger.

Each: its columns, cells a spreadsheet shows and never runs, a leader's narrower view, another
church's ids not found, and an audit row per download.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.inbox.inbound import handle_received
from app.models import AuditLog, ConsentEvent, GroupMember, User
from tests.factories import MemberFactory
from tests.integration.dashboard.helpers import broadcast, recipient
from tests.integration.inbox.conftest import conversation_of, telnyx_payload

FORMULA = '=HYPERLINK("http://evil.example","x")'


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def audited(db, action: str) -> int:
    return len(db.session.scalars(select(AuditLog).where(AuditLog.action == action)).all())


@pytest.fixture
def owner(db):
    return db.session.scalar(select(User).where(User.email == "admin@example.org"))


@pytest.fixture
def youth_member(db, church, youth):
    member = MemberFactory(church_id=church.id, first_name=FORMULA, last_name="Young", phone_e164="+17735559001")
    db.session.add(GroupMember(church_id=church.id, group_id=youth.id, member_id=member.id))
    db.session.flush()
    return member


@pytest.fixture
def youth(db, church):
    from app.models import Group

    return db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Youth"))


def test_broadcast_recipients_csv(client, db, church, owner, youth_member, login_as):
    other = MemberFactory(church_id=church.id, first_name="Olive", last_name="Elder", phone_e164="+17735559002")
    b = broadcast(church.id, created_by_id=owner.id, status="sent", from_number="+13125550100")
    now = datetime.now(UTC)
    recipient(b, youth_member, sent_at=now, delivered_at=now)
    failed = recipient(b, other, failed_at=now)
    failed.error_code = "30006"
    db.session.commit()

    login_as("owner")
    page = client.get(f"/broadcasts/{b.id}").get_data(as_text=True)
    assert f"/broadcasts/{b.id}/recipients.csv" in page
    rows = rows_of(client.get(f"/broadcasts/{b.id}/recipients.csv"))
    assert rows[0] == ["member", "phone", "status", "reason", "error_code", "sent_at", "delivered_at", "failed_at"]
    assert len(rows) == 3
    young, elder = rows[1], rows[2]
    assert young[0] == "'" + FORMULA + " Young" and young[1] == "+17735559001" and young[2] == "delivered"
    assert young[3] == "" and young[5] and young[6]
    assert elder[:5] == [
        "Olive Elder",
        "+17735559002",
        "failed",
        "This number is a landline or cannot receive texts.",
        "30006",
    ]
    assert audited(db, "broadcast.exported") == 1

    login_as("leader")  # leads Youth: in an admin's broadcast, only Youth members
    rows = rows_of(client.get(f"/broadcasts/{b.id}/recipients.csv"))
    assert [r[1] for r in rows[1:]] == ["+17735559001"]

    login_as("hope")
    assert client.get(f"/broadcasts/{b.id}/recipients.csv").status_code == 404


def test_conversation_thread_csv(client, db, church, youth_member, login_as):
    handle_received(telnyx_payload("+17735559001", text="-1+1 is it still on?"), None)
    handle_received(telnyx_payload("+17735559003", text="Someone outside Youth"), None)
    db.session.commit()
    conv = conversation_of(db, church, "+17735559001")
    outsider = conversation_of(db, church, "+17735559003")

    login_as("owner")
    page = client.get(f"/inbox/{conv.id}").get_data(as_text=True)
    assert f"/inbox/{conv.id}/export.csv" in page
    rows = rows_of(client.get(f"/inbox/{conv.id}/export.csv"))
    assert rows[0] == ["at", "direction", "from", "body", "media", "status", "reason"]
    assert rows[1][1:5] == ["in", "'" + FORMULA + " Young", "'-1+1 is it still on?", "0"]
    assert audited(db, "conversation.exported") == 1

    login_as("leader")
    assert rows_of(client.get(f"/inbox/{conv.id}/export.csv"))[1][3] == "'-1+1 is it still on?"
    assert client.get(f"/inbox/{outsider.id}/export.csv").status_code == 404

    login_as("hope")
    assert client.get(f"/inbox/{conv.id}/export.csv").status_code == 404


def test_consent_ledger_csv_for_owners_and_admins(client, db, church, other_church, owner, youth_member, login_as):
    hope_member = MemberFactory(church_id=other_church.id, first_name="Hope", phone_e164="+17735559004")
    db.session.add_all(
        [
            ConsentEvent(
                church_id=church.id,
                member_id=youth_member.id,
                action="opt_in",
                source="keyword",
                keyword="JOIN",
                phone_number="+13125550100",
            ),
            ConsentEvent(
                church_id=church.id,
                member_id=youth_member.id,
                action="opt_out",
                source="admin",
                detail="@SUM(A1) asked in person",
                user_id=owner.id,
            ),
            ConsentEvent(church_id=other_church.id, member_id=hope_member.id, action="opt_in", source="import"),
        ]
    )
    db.session.commit()

    login_as("leader")
    assert client.get("/members/consent.csv").status_code == 403

    login_as("owner")
    assert "/members/consent.csv" in client.get("/members").get_data(as_text=True)
    rows = rows_of(client.get("/members/consent.csv"))
    assert rows[0] == ["at", "member", "phone", "event", "source", "keyword_or_text", "church_number", "recorded_by"]
    mine = [r for r in rows[1:] if r[2] == "+17735559001"]
    assert [r[3:] for r in mine] == [
        ["opt-in", "keyword", "JOIN", "+13125550100", ""],
        ["opt-out", "admin", "'@SUM(A1) asked in person", "", owner.name or owner.email],
    ]
    assert mine[0][1] == "'" + FORMULA + " Young"
    assert "+17735559004" not in {r[2] for r in rows}  # Hope Chapel's ledger stays Hope Chapel's
    assert audited(db, "consent.exported") == 1

    login_as("hope")
    hope = rows_of(client.get("/members/consent.csv"))
    phones = {r[2] for r in hope[1:]}
    assert "+17735559004" in phones and "+17735559001" not in phones


def test_exports_are_rate_limited_per_user(client, db, login_as):
    login_as("owner")
    answers = [client.get("/members/consent.csv").status_code for _ in range(11)]
    assert answers[:10] == [200] * 10 and answers[10] == 429


def test_control_buttons_need_the_csrf_token(app, client, db, church, owner, login_as, monkeypatch):
    b = broadcast(church.id, created_by_id=owner.id, status="sending", recipient_count=1)
    db.session.commit()
    login_as("owner")
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert client.post(f"/broadcasts/{b.id}/pause").status_code == 400
    db.session.refresh(b)
    assert b.status == "sending"
