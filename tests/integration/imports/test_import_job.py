"""The import job: counts, update vs skip, groups, consent ledger, rerun, crash, tenants."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DataError

from app import cache
from app.models import ConsentEvent, Group, GroupMember, Member, MemberImport
from app.people.imports import services as import_services
from app.people.imports import sql as import_sql
from app.people.imports.tasks import run_import as run_import_task
from tests.factories import BranchFactory, ConversationFactory, GroupFactory, MemberFactory
from tests.integration.imports.conftest import csv_bytes, run_worker


def member(db, church, phone):
    return db.session.scalar(select(Member).where(Member.church_id == church.id, Member.phone_e164 == phone))


def consent_rows(db, imp):
    query = select(func.count()).where(ConsentEvent.detail == f"import #{imp.id} {imp.filename}")
    return db.session.scalar(query)


def test_job_imports_rows_and_reports_true_counts(db, church, run_import):
    data = csv_bytes(
        "Ruth,Mensah,(312) 555-7001,Ruth@Example.org,,",
        "Eli,Osei,312.555.7002,,,",
        "Bad,Phone,555,,,",
        "Dup,Row,+1 312 555 7001,,,",
    )
    imp = run_import(data)
    assert imp.status == "done"
    assert (imp.read_rows, imp.imported, imp.updated, imp.skipped, imp.failed) == (4, 2, 0, 0, 2)
    ruth = member(db, church, "+13125557001")
    assert (ruth.first_name, ruth.last_name, ruth.email, ruth.consent_source) == (
        "Ruth",
        "Mensah",
        "ruth@example.org",
        "import",
    )
    assert [f["row"] for f in imp.failures] == [4, 5]
    assert import_services.live_counts(imp)["imported"] == 2


def test_existing_members_are_skipped_or_updated_as_chosen(db, church, run_import):
    old = MemberFactory(
        church_id=church.id, first_name="Old", last_name="Name", phone_e164="+13125557101", email="keep@example.org"
    )
    thread = ConversationFactory(church_id=church.id, member_id=old.id)
    db.session.commit()
    row = "New,Name,3125557101,,,"
    thread_dep = ("conversation", church.id, thread.id)
    version = cache.version(thread_dep)
    skipped = run_import(csv_bytes(row, "Fresh,Person,3125557102,,,"))
    assert (skipped.imported, skipped.updated, skipped.skipped) == (1, 0, 1)
    assert member(db, church, "+13125557101").first_name == "Old"
    assert cache.version(thread_dep) == version  # nobody's name changed: their thread stays cached

    updated = run_import(csv_bytes(row), update=True, filename="again.csv")
    assert (updated.imported, updated.updated, updated.skipped) == (0, 1, 0)
    assert cache.version(thread_dep) > version  # the cached thread shows the new name
    existing = member(db, church, "+13125557101")
    assert existing.first_name == "New"
    assert existing.email == "keep@example.org"  # an empty cell does not erase


def test_skip_mode_still_fills_in_placeholder_members_from_inbound_texts(db, church, run_import):
    MemberFactory(church_id=church.id, first_name="", last_name="", phone_e164="+13125557111", is_unknown=True)
    imp = run_import(csv_bytes("Known,Now,3125557111,,,"))
    assert (imp.imported, imp.updated, imp.skipped) == (0, 1, 0)
    assert member(db, church, "+13125557111").is_unknown is False


def test_groups_are_matched_case_insensitively_or_created_and_branch_by_name(db, church, run_import):
    youth = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Youth"))
    branch = BranchFactory(church_id=church.id, name="North Campus")
    imp = run_import(
        csv_bytes(
            'Ann,Lee,3125557201,,"youth; Choir",north campus',
            "Ben,Lee,3125557202,,Choir,",
        )
    )
    assert imp.groups_created == 1
    choir = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Choir"))
    ann = member(db, church, "+13125557201")
    ben = member(db, church, "+13125557202")
    memberships = set(db.session.execute(select(GroupMember.group_id, GroupMember.member_id)).all())
    assert {(youth.id, ann.id), (choir.id, ann.id), (choir.id, ben.id)} <= memberships
    assert (youth.id, ben.id) not in memberships
    assert ann.branch_id == branch.id and ben.branch_id is None


def test_each_imported_member_gets_one_consent_row_naming_the_import(db, church, run_import):
    stopped = MemberFactory(church_id=church.id, phone_e164="+13125557302", opted_out_at=datetime.now(UTC))
    imp = run_import(csv_bytes("A,One,3125557301,,,", "B,Two,3125557302,,,"), update=True, filename="sunday.csv")
    event = db.session.scalar(select(ConsentEvent).where(ConsentEvent.detail == f"import #{imp.id} sunday.csv"))
    assert (event.action, event.source, event.user_id) == ("opt_in", "import", imp.user_id)
    assert event.member_id == member(db, church, "+13125557301").id
    assert consent_rows(db, imp) == 1  # the member who texted STOP is updated but stays opted out
    db.session.refresh(stopped)
    assert stopped.opted_out_at is not None


def test_rerunning_the_load_is_idempotent(db, church, run_import):
    imp = run_import(csv_bytes('A,One,3125557401,,"Youth, Choir",', "B,Two,3125557402,,,"), update=True)

    def snapshot():
        return (
            db.session.scalar(select(func.count()).select_from(Member).where(Member.church_id == church.id)),
            db.session.scalar(select(func.count()).select_from(GroupMember).where(GroupMember.church_id == church.id)),
            db.session.scalar(select(func.count()).select_from(Group).where(Group.church_id == church.id)),
            consent_rows(db, imp),
        )

    before = snapshot()
    imp = import_services.load_with_content(imp.id)
    import_services.execute(db.session, imp)  # the whole load again, from the stored file
    db.session.commit()
    assert snapshot() == before
    assert consent_rows(db, imp) == 2
    # The job itself leaves a finished import alone.
    assert run_import_task(imp.id)["read"] == 2


def test_a_crash_leaves_nothing_half_imported_and_the_job_can_be_rerun(db, church, make_import, monkeypatch):
    members_before = db.session.scalar(select(func.count()).select_from(Member))
    imp = make_import(csv_bytes("A,One,3125557501,,NewGroup,", "B,Two,3125557502,,,"))
    import_services.start(imp, imp.mapping, False)
    # The database fails the last statement, after members and groups were written.
    monkeypatch.setattr(import_sql, "CONSENT_ROWS", "SELECT 1 / 0")
    with pytest.raises(DataError):
        run_import_task(imp.id)
    monkeypatch.undo()
    db.session.expire_all()
    failed = db.session.get(MemberImport, imp.id)
    assert failed.status == "failed" and "Nothing was imported" in failed.error
    assert db.session.scalar(select(func.count()).select_from(Member)) == members_before
    assert db.session.scalar(select(Group).where(Group.name == "NewGroup")) is None

    summary = run_import_task(imp.id)
    assert summary["imported"] == 2
    assert db.session.scalar(select(func.count()).select_from(Member)) == members_before + 2


def test_imports_stay_inside_their_church(db, church, other_church, run_import):
    MemberFactory(church_id=other_church.id, first_name="Hope", phone_e164="+13125557601")
    hope_group = GroupFactory(church_id=other_church.id, name="Elders")
    imp = run_import(csv_bytes("Grace,Person,3125557601,,Elders,"), update=True)
    assert (imp.imported, imp.updated) == (1, 0)
    assert member(db, other_church, "+13125557601").first_name == "Hope"
    grace_elders = db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Elders"))
    assert grace_elders is not None and grace_elders.id != hope_group.id
    assert db.session.scalar(select(func.count()).where(GroupMember.group_id == hope_group.id)) == 0


def test_failed_rows_csv_has_row_numbers_original_values_and_reasons(db, church, run_import):
    imp = run_import(csv_bytes("Ok,Row,3125557701,,,", "No,Phone,,x@example.org,,", "Short,Number,12345,,,"))
    lines = import_services.failures_csv(imp).splitlines()
    assert lines[0] == "Row,First name,Last name,Phone,Email,Groups,Branch,Reason"
    assert lines[1] == "3,No,Phone,,x@example.org,,,No phone number."
    assert lines[2].startswith("4,Short,Number,12345,,,,")
    assert "wrong number of digits" in lines[2]


def test_sweep_fails_imports_whose_worker_died_and_drops_stale_drafts(db, church, make_import):
    from datetime import timedelta

    from app.people.imports.tasks import sweep_imports

    long_ago = datetime.now(UTC) - timedelta(days=40)
    stuck = make_import(csv_bytes("A,One,3125557801,,,"))
    stuck.status, stuck.started_at = "running", long_ago
    draft = make_import(csv_bytes("A,One,3125557802,,,"))
    draft.created_at = long_ago
    done = make_import(csv_bytes("A,One,3125557803,,,"))
    done.status, done.finished_at = "done", long_ago
    fresh = make_import(csv_bytes("A,One,3125557804,,,"))
    fresh.status, fresh.started_at = "running", datetime.now(UTC)
    db.session.commit()
    draft_id = draft.id

    assert sweep_imports() == {"stuck": 1, "drafts": 1, "files_freed": 1}
    db.session.expire_all()
    assert db.session.get(MemberImport, stuck.id).status == "failed"
    assert "try again" in db.session.get(MemberImport, stuck.id).error
    assert db.session.get(MemberImport, draft_id) is None
    assert import_services.load_with_content(done.id).content == b""
    assert db.session.get(MemberImport, fresh.id).status == "running"


def test_an_import_whose_job_redis_lost_is_queued_again_and_runs_once(db, church, make_import):
    """Redis flushed after the import was queued: the sweep queues it again from the database."""
    from app.extensions import rds
    from app.people.imports.tasks import requeue_lost_imports

    imp = make_import(csv_bytes("Lost,Job,3125557801,,,"))
    import_services.start(imp, imp.mapping, False)
    assert requeue_lost_imports() == []  # its job is still in Redis: left alone
    rds.client.flushdb()
    assert requeue_lost_imports() == [imp.id]
    assert requeue_lost_imports() == []  # the new job is in Redis now
    run_worker()
    db.session.expire_all()
    done = db.session.get(MemberImport, imp.id)
    assert (done.status, done.imported) == ("done", 1)
    assert member(db, church, "+13125557801") is not None


def test_a_second_job_for_a_running_import_leaves_it_alone(db, church, make_import):
    imp = make_import(csv_bytes("Two,Jobs,3125557802,,,"))
    import_services.start(imp, imp.mapping, False)
    db.session.execute(text("UPDATE member_imports SET status = 'running' WHERE id = :id"), {"id": imp.id})
    db.session.commit()
    assert run_import_task(imp.id) is None
    db.session.expire_all()
    assert db.session.get(MemberImport, imp.id).status == "running"
    assert member(db, church, "+13125557802") is None
