"""Helpers for import tests: build CSV bytes, make a draft, run the real job."""

from __future__ import annotations

import pytest
from rq import SimpleWorker

from app.extensions import rds
from app.models import MemberImport
from app.people.imports import services as import_services

HEADER = "First name,Last name,Phone,Email,Groups,Branch\n"


def csv_bytes(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def run_worker() -> None:
    """Drain the default queue with a real RQ worker, in this process (and this test's transaction)."""
    SimpleWorker([rds.queue("default")], connection=rds.client).work(burst=True)


@pytest.fixture
def make_import(db, church):
    """A draft import of `data` in Grace, as the upload page creates it."""
    from app.auth.services import find_user_by_email

    owner = find_user_by_email("admin@example.org")

    def _make(data: bytes, filename: str = "members.csv", church_=None) -> MemberImport:
        target = church_ or church
        return import_services.create_draft(target, owner.id if target.id == church.id else None, filename, data)

    return _make


@pytest.fixture
def run_import(make_import):
    """Upload, start (queue the job) and run it with a real worker; returns the refreshed import."""
    from app.extensions import db as _db

    def _run(data: bytes, *, update: bool = False, filename: str = "members.csv", church_=None) -> MemberImport:
        imp = make_import(data, filename, church_)
        import_services.start(imp, imp.mapping, update)
        run_worker()
        _db.session.expire_all()
        return _db.session.get(MemberImport, imp.id)

    return _run
