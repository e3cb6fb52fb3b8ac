"""The Planning Center sync: people page by page, then the mapped lists' memberships.

A run is a `pco_syncs` row. Each page is applied and committed together with the run's counters
and the URL of the next page, so a worker that dies loses at most the page it was on: the next
job claims the run (its heartbeat is stale) and carries on from `next_url`. People are asked
for incrementally (`where[updated_at][gte]` the cursor of the last successful run, oldest change
first); the cursor moves only when a run finishes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app import cache
from app.cache import Dep
from app.extensions import db
from app.integrations import sql
from app.integrations.client import Page, PcoClient, PcoError
from app.integrations.credentials import open_credentials
from app.models import Church, PcoConnection, PcoList, PcoSync
from app.people.phones import PHONE_MAX, try_normalize

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=5)  # a running sync whose heartbeat is older lost its worker
SHOWN_SKIPPED = 200  # skipped people kept by name on the report; the count is whole
EMAIL_MAX = 320
NAME_MAX = 100

ClientFactory = Callable[..., PcoClient]


def claim(run_id: int) -> PcoSync | None:
    """Take the run for this worker: queued, or running with a stale heartbeat (a crashed worker)."""
    row = db.session.execute(
        text(
            "UPDATE pco_syncs SET status = 'running', started_at = COALESCE(started_at, now()), "
            "heartbeat_at = now(), error = NULL "
            "WHERE id = :id AND (status = 'queued' OR (status = 'running' AND heartbeat_at < :stale)) "
            "RETURNING id"
        ),
        {"id": run_id, "stale": datetime.now(UTC) - STALE_AFTER},
    ).first()
    db.session.commit()
    return db.session.get(PcoSync, run_id, populate_existing=True) if row else None


def run(run_id: int, client_factory: ClientFactory = PcoClient) -> PcoSync | None:
    """Carry run `run_id` to its end (or to a failure it records); None when another worker has it."""
    sync = claim(run_id)
    if sync is None:
        return None
    connection = db.session.get(PcoConnection, sync.church_id)
    credentials = open_credentials(connection.credentials) if connection else None
    if connection is None or credentials is None:
        why = "Planning Center is not connected." if connection is None else "Connect Planning Center again."
        return _fail(sync, why)
    church = db.session.get(Church, sync.church_id)
    throttles = [0]

    def throttled(seconds: float) -> None:
        throttles[0] += 1

    client = client_factory(current_app.config["PCO_API_BASE"], *credentials, on_throttle=throttled)
    try:
        with client:
            if sync.phase == "people":
                _people(sync, connection, church, client, throttles)
            if sync.phase == "lists":
                _lists(sync, client, throttles)
    except PcoError as exc:
        db.session.rollback()
        sync = db.session.get(PcoSync, run_id, populate_existing=True)
        return _fail(sync, exc.message)
    if sync.status != "running":  # stopped by a disconnect while it ran
        return sync
    sync.status, sync.phase, sync.finished_at = "done", "finished", datetime.now(UTC)
    sync.next_url = None
    if sync.high_water and (connection.cursor is None or sync.high_water > connection.cursor):
        connection.cursor = sync.high_water
    connection.last_synced_at = sync.finished_at
    db.session.commit()
    log.info("planning center sync %s done", sync.id, extra={"sync_report": report(sync)})
    return sync


def _fail(sync: PcoSync, message: str) -> PcoSync:
    sync.status, sync.error, sync.finished_at = "failed", message[:500], datetime.now(UTC)
    db.session.commit()
    log.warning("planning center sync %s failed: %s", sync.id, message)
    return sync


def _people(sync: PcoSync, connection: PcoConnection, church: Church, client: PcoClient, throttles: list[int]) -> None:
    url: str | None = sync.next_url or client.people_url(_iso(sync.since))
    detail = f"Planning Center sync #{sync.id}"
    # Read once: each page's commit expires the rows, and reloading them per page costs round trips.
    country, attested, user_id = church.country, connection.consent_attested, connection.connected_by
    while url:
        page = client.page(url)
        apply_people(db.session, sync, page, country, attested, user_id, detail)
        if sync.total_people is None and page.total is not None:
            sync.total_people = page.total
        url = _page_done(sync, page, throttles)
    sync.phase, sync.next_url, sync.list_position = "lists", None, 0
    db.session.commit()


def _lists(sync: PcoSync, client: PcoClient, throttles: list[int]) -> None:
    mapped = db.session.execute(
        select(PcoList.pco_list_id, PcoList.group_id)
        .where(PcoList.church_id == sync.church_id, PcoList.group_id.is_not(None))
        .order_by(PcoList.pco_list_id)
    ).all()
    while sync.list_position < len(mapped) and sync.status == "running":
        list_id, group_id = mapped[sync.list_position]
        url: str | None = sync.next_url or client.list_results_url(list_id)
        while url:
            page = client.page(url)
            sync.memberships_added += add_memberships(db.session, sync.church_id, group_id, page)
            url = _page_done(sync, page, throttles)
        sync.list_position += 1
        sync.next_url = None
        db.session.commit()


def _page_done(sync: PcoSync, page: Page, throttles: list[int]) -> str | None:
    """Commit the page with the run's resume point and heartbeat; the next page's URL."""
    sync.next_url = page.next_url
    sync.throttled += throttles[0]
    throttles[0] = 0
    sync.heartbeat_at = datetime.now(UTC)
    db.session.commit()
    # Read back after the commit: a disconnect marks the run failed, and the run stops here.
    return page.next_url if sync.status == "running" else None


def person_row(order: int, person: dict[str, Any], included: dict, country: str) -> dict[str, Any]:
    """One person of a page as a staging row: names, the E.164 phone (or why not), email."""
    attrs = person.get("attributes") or {}
    row: dict[str, Any] = {
        "ord": order,
        "pco_id": str(person.get("id", ""))[:32],
        "first_name": _text(attrs.get("first_name"), NAME_MAX),
        "last_name": _text(attrs.get("last_name"), NAME_MAX),
        "phone": None,
        "email": _email(_pick(person, "emails", included, "address")),
        "pco_updated_at": attrs.get("updated_at") if isinstance(attrs.get("updated_at"), str) else None,
        "reason": None,
    }
    raw = _pick(person, "phone_numbers", included, "number")
    if not raw:
        row["reason"] = "no phone"
    elif len(raw) > PHONE_MAX or (phone := try_normalize(raw, country or "US")) is None:
        row["reason"] = "invalid phone"
    else:
        row["phone"] = phone
    return row


def apply_people(
    session: Session,
    sync: PcoSync,
    page: Page,
    country: str,
    attested: bool,
    user_id: int | None,
    detail: str,
) -> None:
    """Stage one page and write it set-based: members, links, consent for new members, counts."""
    rows = [person_row(i, p, page.included, country) for i, p in enumerate(page.data)]
    params = {"church_id": sync.church_id}
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text(sql.STAGE_PAGE))
    session.execute(text(sql.FILL_PAGE), {"rows": json.dumps(rows)})
    # A temporary table has no statistics until analysed; the joins below need them.
    session.execute(text("ANALYZE pco_page"))
    session.execute(text(sql.MARK_PAGE_DUPLICATES))
    session.execute(text(sql.MARK_LINKED_DUPLICATES), params)
    session.execute(text(sql.UPSERT_MEMBERS), {**params, "attested": attested})
    session.execute(text(sql.LINK_PEOPLE), params)
    if attested:
        session.execute(text(sql.CONSENT_ROWS), {**params, "detail": detail, "user_id": user_id})
    created, updated, kept, high_water = session.execute(text(sql.PAGE_COUNTS)).one()
    skipped = session.execute(text(sql.SKIPPED_ROWS)).all()
    deps: list[Dep] = [("members", sync.church_id)]
    if updated:
        renamed = session.execute(text(sql.RENAMED_CONVERSATIONS), params).scalars().all()
        deps += [("conversation", sync.church_id, cid) for cid in renamed]
    session.execute(text(sql.DROP_PAGE))
    if created or updated:
        cache.bump(*deps, session=session)
    sync.people_seen += len(rows)
    sync.created += created
    sync.updated += updated
    sync.unchanged += kept - created - updated
    sync.skipped += len(skipped)
    room = SHOWN_SKIPPED - len(sync.skipped_people or [])
    if skipped and room > 0:
        shown = [{"id": pid, "name": name or "(no name)", "reason": why} for pid, name, why in skipped[:room]]
        sync.skipped_people = [*(sync.skipped_people or []), *shown]
    if high_water and (sync.high_water is None or high_water > sync.high_water):
        sync.high_water = high_water


def add_memberships(session: Session, church_id: int, group_id: int, page: Page) -> int:
    """Put the members behind one page of list results into the group; how many joined."""
    ids = []
    for item in page.data:
        person = ((item.get("relationships") or {}).get("person") or {}).get("data") or {}
        if person.get("id") is not None:
            ids.append(str(person["id"])[:32])
    if not ids:
        return 0
    added = session.execute(
        text(sql.ADD_MEMBERSHIPS), {"church_id": church_id, "group_id": group_id, "person_ids": ids}
    ).rowcount
    if added:
        cache.bump(("groups", church_id), ("members", church_id), session=session)
    return max(added, 0)


def report(sync: PcoSync) -> dict[str, Any]:
    """The run's figures, for logs and the page."""
    return {
        "people": sync.people_seen,
        "created": sync.created,
        "updated": sync.updated,
        "unchanged": sync.unchanged,
        "skipped": sync.skipped,
        "memberships_added": sync.memberships_added,
        "throttled": sync.throttled,
    }


def _pick(person: dict[str, Any], relation: str, included: dict, attribute: str) -> str | None:
    """The person's best phone or email from `included`: mobile first, then primary, then the first."""
    refs = (((person.get("relationships") or {}).get(relation) or {}).get("data")) or []
    found = []
    for ref in refs if isinstance(refs, list) else []:
        item = included.get((str(ref.get("type")), str(ref.get("id")))) if isinstance(ref, dict) else None
        attrs = (item or {}).get("attributes") or {}
        value = attrs.get(attribute)
        if isinstance(value, str) and value.strip():
            rank = (str(attrs.get("location", "")).lower() != "mobile", not attrs.get("primary"))
            found.append((rank, len(found), value.strip()))
    return min(found)[2] if found else None


def _text(value: Any, limit: int) -> str:
    return " ".join(str(value).split())[:limit] if isinstance(value, str) else ""


def _email(value: str | None) -> str | None:
    if not value or len(value) > EMAIL_MAX or "@" not in value or any(c.isspace() for c in value):
        return None
    return value


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None
