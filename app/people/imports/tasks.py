"""Background jobs of member imports (run by the RQ worker: the import on default, the sweep on low)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

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
    imp.status = "running"
    imp.started_at = datetime.now(UTC)
    imp.error = None
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
