"""Planning Center for one church: connect, choose lists for groups, start a sync, disconnect.

Services take plain values and the session; the caller commits. A sync is queued with
`start_sync` (the page's "Sync now", or the hourly schedule) and run by tasks.run_sync.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, text, update

from app import audit
from app.errors import ValidationError
from app.extensions import db
from app.integrations.client import PcoAuthError, PcoClient, PcoError
from app.integrations.credentials import seal_credentials
from app.jobs import enqueue_after_commit
from app.models import Group, PcoConnection, PcoList, PcoPerson, PcoSync, User

SYNC_EVERY = timedelta(hours=1)
JOB_TIMEOUT = 3600
NEW_GROUP = "new"
QUEUE = "low"


@dataclass(frozen=True)
class ListChoice:
    """One Planning Center list on the page: "" not synced, NEW_GROUP, or a group id (as text)."""

    pco_list_id: str
    name: str
    total_people: int
    choice: str


def connection_of(church_id: int) -> PcoConnection | None:
    """The church's connection, if any."""
    return db.session.get(PcoConnection, church_id)


def connect(user: User, app_id: str, secret: str, attested: bool, client_factory=PcoClient) -> PcoConnection:
    """Check the token against Planning Center (its lists), then keep it sealed; ValidationError by field."""
    try:
        with client_factory(current_app.config["PCO_API_BASE"], app_id, secret, sleep=_no_wait) as client:
            lists = client.lists()
            organization = client.organization()
    except PcoAuthError:
        raise ValidationError(
            "Planning Center refused these credentials.",
            details={"secret": ["Planning Center refused this application id and secret. Check both and try again."]},
        ) from None
    except PcoError as exc:
        raise ValidationError(exc.message, details={"app_id": [exc.message]}) from None
    connection = connection_of(user.church_id) or PcoConnection(church_id=user.church_id)
    connection.credentials = seal_credentials(app_id, secret)
    connection.app_id_hint = app_id[-4:]
    connection.connected_by = user.id
    connection.consent_attested = attested
    connection.organization = organization
    db.session.add(connection)
    db.session.flush()
    refresh_lists(user.church_id, lists)
    audit.record("integration.connected", target=("church", user.church_id), detail={"service": "Planning Center"})
    return connection


def _no_wait(seconds: float) -> None:
    # Connecting happens inside a web request: a 429 there is an answer, not a reason to wait.
    raise PcoError("Planning Center is busy (too many requests). Try again in a minute.", 429)


def refresh_lists(church_id: int, lists: list[dict]) -> None:
    """Keep the church's copy of its Planning Center lists (names, sizes); lists gone are forgotten."""
    ids = [item["id"] for item in lists]
    db.session.execute(delete(PcoList).where(PcoList.church_id == church_id, PcoList.pco_list_id.not_in(ids)))
    known = {row.pco_list_id: row for row in db.session.scalars(select(PcoList).where(PcoList.church_id == church_id))}
    for item in lists:
        row = known.get(item["id"]) or PcoList(church_id=church_id, pco_list_id=item["id"])
        row.name, row.total_people = item["name"], item["total_people"]
        db.session.add(row)


def list_choices(church_id: int) -> list[ListChoice]:
    """The church's lists with the group each fills, for the mapping form."""
    rows = db.session.scalars(select(PcoList).where(PcoList.church_id == church_id).order_by(PcoList.name))
    return [ListChoice(r.pco_list_id, r.name, r.total_people, str(r.group_id or "")) for r in rows]


def group_options(church_id: int) -> list[tuple[int, str]]:
    """(id, name) of the church's groups."""
    rows = db.session.execute(select(Group.id, Group.name).where(Group.church_id == church_id).order_by(Group.name))
    return [(gid, name) for gid, name in rows]


def save_lists(user: User, choices: dict[str, str]) -> int:
    """Apply the mapping form: list id → "" / NEW_GROUP / group id. Groups made here; how many lists sync.

    ValidationError names the list fields (`list-<id>`) that cannot be applied.
    """
    church_id = user.church_id
    lists = {r.pco_list_id: r for r in db.session.scalars(select(PcoList).where(PcoList.church_id == church_id))}
    groups = dict(group_options(church_id))
    by_name = {name.lower(): gid for gid, name in groups.items()}
    errors: dict[str, list[str]] = {}
    for list_id, choice in choices.items():
        row = lists.get(list_id)
        if row is None:
            continue
        if choice == NEW_GROUP:
            if row.name.lower() in by_name:
                errors[f"list-{list_id}"] = [f"A group named “{row.name}” exists already: choose it instead."]
        elif choice and (not choice.isdigit() or int(choice) not in groups):
            errors[f"list-{list_id}"] = ["Choose one of your groups."]
    if errors:
        raise ValidationError("Some lists could not be matched to a group.", details=errors)
    synced = 0
    for list_id, choice in choices.items():
        row = lists.get(list_id)
        if row is None:
            continue
        if choice == NEW_GROUP:
            group = Group(church_id=church_id, name=row.name)
            db.session.add(group)
            db.session.flush()
            by_name[row.name.lower()] = group.id
            row.group_id = group.id
        else:
            row.group_id = int(choice) if choice else None
        synced += row.group_id is not None
    audit.record("integration.lists_mapped", target=("church", church_id), detail={"lists_synced": synced})
    return synced


def start_sync(church_id: int, trigger: str, user: User | None = None) -> tuple[PcoSync, bool]:
    """Queue a sync unless one is queued or running; (the active run, whether it is new).

    The job is enqueued after the caller's commit.
    """
    connection = connection_of(church_id)
    if connection is None:
        raise ValidationError("Connect Planning Center first.")
    new_id = db.session.execute(
        text(
            "INSERT INTO pco_syncs (church_id, trigger, user_id, status, phase, since, list_position, people_seen, "
            "created, updated, unchanged, skipped, memberships_added, skipped_people, throttled) "
            "VALUES (:church_id, :trigger, :user_id, 'queued', 'people', :since, 0, 0, 0, 0, 0, 0, 0, '[]', 0) "
            "ON CONFLICT (church_id) WHERE status IN ('queued', 'running') DO NOTHING RETURNING id"
        ),
        {"church_id": church_id, "trigger": trigger, "user_id": user.id if user else None, "since": connection.cursor},
    ).scalar()
    if new_id is None:
        return active_sync(church_id), False
    enqueue_after_commit(QUEUE, "app.integrations.tasks.run_sync", new_id, job_timeout=JOB_TIMEOUT)
    if user is not None:
        audit.record("integration.sync_started", target=("church", church_id), detail={"sync": new_id})
    return db.session.get(PcoSync, new_id), True


def active_sync(church_id: int) -> PcoSync | None:
    """The church's queued or running sync."""
    query = select(PcoSync).where(PcoSync.church_id == church_id, PcoSync.status.in_(("queued", "running")))
    return db.session.scalar(query)


def latest_sync(church_id: int) -> PcoSync | None:
    """The church's newest sync, whatever its status."""
    query = select(PcoSync).where(PcoSync.church_id == church_id).order_by(PcoSync.id.desc()).limit(1)
    return db.session.scalar(query)


def disconnect(user: User) -> bool:
    """Forget the token, the lists and who-is-who; members and groups stay. Stops a queued or running sync."""
    church_id = user.church_id
    connection = connection_of(church_id)
    if connection is None:
        return False
    db.session.execute(
        update(PcoSync)
        .where(PcoSync.church_id == church_id, PcoSync.status.in_(("queued", "running")))
        .values(status="failed", error="Planning Center was disconnected.", finished_at=func.now())
    )
    db.session.execute(delete(PcoList).where(PcoList.church_id == church_id))
    db.session.execute(delete(PcoPerson).where(PcoPerson.church_id == church_id))
    db.session.delete(connection)
    audit.record("integration.disconnected", target=("church", church_id), detail={"service": "Planning Center"})
    return True


def due_church_ids(now: datetime | None = None) -> list[int]:
    """Connected churches with no sync queued or running and none started in the last SYNC_EVERY."""
    now = now or datetime.now(UTC)
    recent = select(PcoSync.church_id).where(
        (PcoSync.created_at > now - SYNC_EVERY) | PcoSync.status.in_(("queued", "running"))
    )
    query = select(PcoConnection.church_id).where(PcoConnection.church_id.not_in(recent))
    return list(db.session.scalars(query))


def lost_sync_ids(now: datetime | None = None) -> list[int]:
    """Runs whose job is gone: running with a stale heartbeat (the worker died) or queued too long."""
    now = now or datetime.now(UTC)
    query = select(PcoSync.id).where(
        ((PcoSync.status == "running") & (PcoSync.heartbeat_at < now - timedelta(minutes=5)))
        | ((PcoSync.status == "queued") & (PcoSync.created_at < now - timedelta(minutes=2)))
    )
    return list(db.session.scalars(query))
