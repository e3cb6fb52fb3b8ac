"""Background jobs of member imports (run by the RQ worker: the import on default, the sweep on low)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from app.extensions import db
from app.models import MemberImport
from app.people.imports import services

log = logging.getLogger(__name__)


def run_import(import_id: int) -> dict[str, int] | None:
    """Run a queued member import in one transaction; a finished import is left as it is.

    A crash rolls everything back and marks the import failed with the reason; running the
    job again (the page's "Try again") starts from the stored file and is idempotent.
    """
    imp = services.load_with_content(import_id)
    if imp is None:
        log.warning("member import %s no longer exists", import_id)
        return None
    if imp.status == "done":
        return _summary(imp)
    # Claimed in one statement: a second job for the same import (queued again after Redis lost
    # the first, see requeue_lost_imports) finds it running and leaves it to the first.
    claimed = db.session.execute(
        update(MemberImport)
        .where(MemberImport.id == import_id, MemberImport.status.in_(("queued", "failed")))
        .values(status="running", started_at=datetime.now(UTC), error=None)
    ).rowcount
    if not claimed:
        db.session.rollback()
        log.warning("member import %s is already running; this job leaves it alone", import_id)
        return None
    db.session.commit()
    services.write_progress(import_id, "reading")
    try:
        services.execute(db.session, imp, report=lambda *a: services.write_progress(import_id, *a))
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        log.exception("member import %s failed", import_id)
        _mark_failed(import_id, exc)
        raise
    log.info("member import %s done", import_id, extra=_summary(imp))
    return _summary(imp)


def _mark_failed(import_id: int, exc: Exception) -> None:
    imp = db.session.get(MemberImport, import_id)
    if imp is None:
        return
    imp.status = "failed"
    imp.error = f"The import stopped before saving anything ({type(exc).__name__}). Nothing was imported."
    imp.finished_at = datetime.now(UTC)
    db.session.commit()


def _summary(imp: MemberImport) -> dict[str, int]:
    return {
        "read": imp.read_rows,
        "imported": imp.imported,
        "updated": imp.updated,
        "skipped": imp.skipped,
        "failed": imp.failed,
    }


def requeue_lost_imports() -> list[int]:
    """Periodic: queue again the imports whose job Redis lost (flushed, restarted empty)."""
    requeued = services.requeue_lost()
    if requeued:
        log.warning("member imports queued again after their job was lost", extra={"import_ids": requeued})
    return requeued


def sweep_imports() -> dict[str, int]:
    """Periodic housekeeping: fail imports whose worker died, drop stale drafts, free old files.

    A worker killed mid-import (deploy, out of memory) leaves its import "running" with its
    transaction rolled back; marking it failed lets the page stop polling and offer "Try again".
    """
    stuck_after = timedelta(seconds=services.JOB_TIMEOUT + 300)
    result = services.sweep(
        stuck_before=datetime.now(UTC) - stuck_after,
        drafts_before=datetime.now(UTC) - timedelta(days=2),
        files_before=datetime.now(UTC) - timedelta(days=30),
    )
    db.session.commit()
    return result
