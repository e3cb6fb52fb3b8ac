"""The Planning Center sync against the fake on loopback: members, groups, counts, reruns, 429s,
consent, crashes and tenancy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.integrations import services, sync, tasks
from app.integrations.client import PcoClient
from app.models import ConsentEvent, Group, Member, PcoConnection, PcoList, PcoSync
from tests.integration.integrations.conftest import connect, expected, group_size, member_count, run_sync


def _group(church, name):
    return db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == name))


def _map(church, list_id, group_id):
    row = db.session.get(PcoList, (church.id, list_id)) or PcoList(
        church_id=church.id, pco_list_id=list_id, name=f"List {list_id}", total_people=0
    )
    row.group_id = group_id
    db.session.add(row)
    db.session.commit()


def test_a_sync_brings_people_in_and_fills_the_mapped_groups(db, church, pco):
    pco.seed(60)
    connect(church)
    youth = _group(church, "Youth")
    _map(church, "1", youth.id)  # Youth: every 3rd person
    _map(church, "2", None)  # Worship Team: not synced
    before, youth_before = member_count(church), group_size(youth.id)

    run = run_sync(church)

    want = expected(60)
    assert run.status == "done", run.error
    assert (run.people_seen, run.created, run.updated, run.skipped) == (60, want["created"], 0, 7)
    assert member_count(church) == before + want["created"]
    reasons = [row["reason"] for row in run.skipped_people]
    assert reasons.count("no phone") == want["no phone"]
    assert reasons.count("invalid phone") == want["invalid phone"]
    assert reasons.count("duplicate phone") == want["duplicate phone"]
    # Person 1003 is in the Youth list; its phone became E.164 on a member in that group.
    ruth = db.session.scalar(select(Member).where(Member.church_id == church.id, Member.phone_e164 == "+13126000003"))
    assert ruth is not None and ruth.last_name == "Adams3"
    youth_people = [i for i in range(3, 61, 3) if i % 17 and i % 23 and i not in (29, 58)]
    assert group_size(youth.id) == youth_before + len(youth_people) == youth_before + run.memberships_added
    connection = db.session.get(PcoConnection, church.id)
    assert connection.cursor == datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=60)


def test_a_second_run_changes_nothing_and_a_third_only_what_changed(db, church, pco):
    pco.seed(40)
    connect(church)
    _map(church, "1", _group(church, "Youth").id)
    first = run_sync(church)
    count, youth = member_count(church), group_size(_group(church, "Youth").id)

    second = run_sync(church)

    assert second.status == "done"
    assert (second.created, second.updated, second.memberships_added) == (0, 0, 0)
    assert second.people_seen < first.people_seen  # only from the cursor on
    assert member_count(church) == count and group_size(_group(church, "Youth").id) == youth

    pco.update_person("1005", first_name="Ruthie")
    third = run_sync(church)
    assert (third.created, third.updated) == (0, 1)
    renamed = db.session.scalar(
        select(Member).where(Member.church_id == church.id, Member.phone_e164 == "+13126000005")
    )
    assert renamed.first_name == "Ruthie"


def test_429_answers_are_waited_out_as_retry_after_says(db, church, pco):
    pco.seed(30)
    connect(church)
    pco.fail_next(2, retry_after=1)

    run = run_sync(church)

    assert run.status == "done", run.error
    assert run.throttled == 2
    assert pco.throttled == 2
    assert run.created == expected(30)["created"]


def test_a_sync_never_changes_consent(db, church, pco):
    pco.seed(10)
    stopped = Member(
        church_id=church.id,
        first_name="Opted",
        last_name="Out",
        phone_e164="+13126000004",
        opted_out_at=datetime(2025, 5, 1, tzinfo=UTC),
        consent_source="keyword",
    )
    db.session.add(stopped)
    db.session.commit()
    ledger_before = db.session.scalar(
        select(func.count()).select_from(ConsentEvent).where(ConsentEvent.member_id == stopped.id)
    )
    connect(church)

    run = run_sync(church)

    db.session.refresh(stopped)
    assert run.updated == 1  # renamed from Planning Center…
    assert stopped.opted_out_at == datetime(2025, 5, 1, tzinfo=UTC)  # …but still opted out
    assert stopped.consent_source == "keyword"
    assert (
        db.session.scalar(select(func.count()).select_from(ConsentEvent).where(ConsentEvent.member_id == stopped.id))
        == ledger_before
    )
    # New members get what a CSV import gives them (the admin attested consent): one import row each.
    new_rows = db.session.scalars(
        select(ConsentEvent).where(
            ConsentEvent.church_id == church.id, ConsentEvent.detail == f"Planning Center sync #{run.id}"
        )
    ).all()
    assert len(new_rows) == run.created and {(r.action, r.source) for r in new_rows} == {("opt_in", "import")}
    again = run_sync(church)
    assert again.created == 0
    assert db.session.scalar(
        select(func.count()).select_from(ConsentEvent).where(ConsentEvent.detail.like("Planning Center sync #%"))
    ) == len(new_rows)


def test_without_the_attestation_new_members_get_no_consent(db, church, pco):
    pco.seed(5)
    connect(church, attested=False)
    run = run_sync(church)
    assert run.created == 5
    assert not db.session.scalars(select(ConsentEvent).where(ConsentEvent.detail.like("Planning Center sync #%"))).all()
    new = db.session.scalars(select(Member).where(Member.church_id == church.id, Member.phone_e164.like("+1312600%")))
    assert {m.consent_source for m in new} == {None}


def test_one_churchs_sync_never_touches_another_churchs_members(db, church, other_church, pco):
    pco.seed(12)
    theirs = Member(church_id=other_church.id, first_name="Hope", last_name="Member", phone_e164="+13126000002")
    db.session.add(theirs)
    db.session.commit()
    other_count = member_count(other_church)
    connect(church)

    run = run_sync(church)

    db.session.refresh(theirs)
    assert run.created == expected(12)["created"]
    assert (theirs.first_name, theirs.last_name) == ("Hope", "Member")
    assert member_count(other_church) == other_count
    # Hope is not connected: nothing of Grace's connection shows there or runs for it.
    assert services.connection_of(other_church.id) is None
    assert db.session.scalar(select(func.count()).select_from(PcoSync).where(PcoSync.church_id == other_church.id)) == 0


def test_only_one_sync_at_a_time_per_church(db, church, pco):
    pco.seed(3)
    connect(church)
    first, new = services.start_sync(church.id, "manual")
    db.session.commit()
    second, again = services.start_sync(church.id, "manual")
    assert new and not again and second.id == first.id
    assert sync.run(first.id).status == "done"
    assert sync.run(first.id) is None  # a second job for the same run does nothing


class _KilledAfter(PcoClient):
    """A client whose worker dies after `pages` pages (the exception is not one the sync handles)."""

    pages = 1

    def page(self, url):
        if _KilledAfter.pages == 0:
            raise RuntimeError("worker killed")
        _KilledAfter.pages -= 1
        return super().page(url)


def test_a_run_whose_worker_died_resumes_where_it_stopped(db, church, pco):
    pco.seed(250)
    connect(church)
    run, _ = services.start_sync(church.id, "manual")
    db.session.commit()
    _KilledAfter.pages = 1
    with pytest.raises(RuntimeError):
        sync.run(run.id, client_factory=_KilledAfter)
    db.session.rollback()
    stuck = db.session.get(PcoSync, run.id, populate_existing=True)
    assert (stuck.status, stuck.people_seen) == ("running", 100) and "offset=100" in stuck.next_url
    assert services.lost_sync_ids() == []  # its heartbeat is fresh
    stuck.heartbeat_at = datetime.now(UTC) - timedelta(minutes=10)
    db.session.commit()
    assert services.lost_sync_ids() == [run.id]

    done = sync.run(run.id)

    assert done.status == "done"
    assert (done.people_seen, done.created) == (250, expected(250)["created"])


def test_the_hourly_sweep_queues_connected_churches_once(db, church, pco):
    pco.seed(3)
    connect(church)
    assert tasks.sweep()["queued"] == 1
    assert tasks.sweep()["queued"] == 0  # one is queued already
    active = services.active_sync(church.id)
    assert active.trigger == "schedule"
    sync.run(active.id)
    assert tasks.sweep()["queued"] == 0  # synced within the hour


class _DisconnectedMidway(PcoClient):
    """A client during whose second page the church disconnects (as the settings page does)."""

    def page(self, url):
        if "offset=100" in url:
            db.session.execute(
                update(PcoSync).where(PcoSync.status == "running").values(status="failed", error="disconnected")
            )
        return super().page(url)


def test_a_disconnect_stops_a_running_sync(db, church, pco):
    pco.seed(250)
    connect(church)
    run, _ = services.start_sync(church.id, "manual")
    db.session.commit()

    stopped = sync.run(run.id, client_factory=_DisconnectedMidway)

    assert (stopped.status, stopped.error) == ("failed", "disconnected")
    assert stopped.people_seen == 200  # the page in hand was kept; no third page was read
    assert db.session.get(PcoConnection, church.id).cursor is None  # only a finished run moves the cursor


def test_sync_now_runs_on_a_worker(db, church, pco):
    from rq import SimpleWorker

    from app.extensions import rds

    pco.seed(8)
    connect(church)
    run, _ = services.start_sync(church.id, "manual")
    db.session.commit()  # enqueued only now

    SimpleWorker([rds.queue(services.QUEUE)], connection=rds.client).work(burst=True)

    done = db.session.get(PcoSync, run.id, populate_existing=True)
    assert done.status == "done" and done.created == 8
