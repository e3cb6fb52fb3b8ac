"""Planning Center helpers: the simulator's fake on loopback, a connected church, a sync run to the end."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db as _db
from app.integrations import services, sync
from app.integrations.credentials import seal_credentials
from app.models import GroupMember, Member, PcoConnection, PcoSync
from tests.integration.inbox.conftest import simulator  # noqa: F401 - the fixture, shared

APP_ID = "a1b2c3d4e5f6a7b8"
SECRET = "s3cr3ts3cr3ts3cr3t"


@pytest.fixture
def pco(app, simulator):  # noqa: F811 - the shared fixture
    """The fake Planning Center (the simulator's, on loopback), PCO_API_BASE pointed at it."""
    old = app.config["PCO_API_BASE"]
    app.config["PCO_API_BASE"] = simulator.pco_api_base
    simulator.pco.reset()
    yield simulator.pco
    app.config["PCO_API_BASE"] = old


def connect(church, user_id: int | None = None, attested: bool = True) -> PcoConnection:
    """A stored connection for `church`, as the settings page leaves it."""
    row = PcoConnection(
        church_id=church.id,
        credentials=seal_credentials(APP_ID, SECRET),
        app_id_hint=APP_ID[-4:],
        connected_by=user_id,
        consent_attested=attested,
    )
    _db.session.add(row)
    _db.session.commit()
    return row


def run_sync(church, trigger: str = "manual") -> PcoSync:
    """Queue a sync for the church and run it here, as a worker would; the finished run."""
    run, new = services.start_sync(church.id, trigger)
    assert new
    _db.session.commit()
    return sync.run(run.id)


def member_count(church) -> int:
    return _db.session.scalar(select(func.count()).select_from(Member).where(Member.church_id == church.id))


def group_size(group_id: int) -> int:
    return _db.session.scalar(select(func.count()).select_from(GroupMember).where(GroupMember.group_id == group_id))


def expected(n: int) -> dict[str, int]:
    """What the fake's seed(n) holds: people with a usable phone, and each skip reason."""
    no_phone = [i for i in range(1, n + 1) if i % 17 == 0]
    invalid = [i for i in range(1, n + 1) if i % 23 == 0 and i % 17]
    duplicate = [i for i in range(2, n + 1) if i % 29 == 0 and i % 17 and i % 23 and (i - 1) % 17 and (i - 1) % 23]
    return {
        "no phone": len(no_phone),
        "invalid phone": len(invalid),
        "duplicate phone": len(duplicate),
        "created": n - len(no_phone) - len(invalid) - len(duplicate),
    }
