"""RQ entry points of the Planning Center sync, and the periodic sweep that schedules it hourly."""

from __future__ import annotations

import logging

from app.extensions import db, rds
from app.integrations import services, sync

log = logging.getLogger(__name__)


def run_sync(run_id: int) -> None:
    """Run (or resume) one sync; a second job for the same run finds it claimed and returns."""
    try:
        sync.run(run_id)
    finally:
        db.session.remove()


def sweep() -> dict[str, int]:
    """Every few minutes: queue the hourly sync of each connected church, and resume lost runs."""
    queued = 0
    for church_id in services.due_church_ids():
        _, new = services.start_sync(church_id, "schedule")
        db.session.commit()
        queued += new
    lost = services.lost_sync_ids()
    db.session.rollback()
    queue = rds.queue(services.QUEUE)
    for run_id in lost:
        queue.enqueue("app.integrations.tasks.run_sync", run_id, job_timeout=services.JOB_TIMEOUT)
    if queued or lost:
        log.info("planning center sweep", extra={"sync_sweep": {"queued": queued, "resumed": len(lost)}})
    return {"queued": queued, "resumed": len(lost)}
