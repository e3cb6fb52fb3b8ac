"""RQ jobs enqueued once the current transaction commits: a worker never sees an uncommitted id."""

from __future__ import annotations

import logging
from typing import Any

import redis
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.extensions import db, rds

log = logging.getLogger(__name__)

_PENDING = "koinonia_jobs_pending"


def enqueue_after_commit(queue: str, func: str, *args: Any, **options: Any) -> None:
    """Enqueue an RQ job (by its dotted path) after the commit; never for a rolled-back transaction."""
    db.session.info.setdefault(_PENDING, []).append((queue, func, args, options))


@event.listens_for(Session, "after_commit")
def _enqueue_pending(session: Session) -> None:
    for queue, func, args, options in session.info.pop(_PENDING, None) or ():
        try:
            rds.queue(queue).enqueue(func, *args, **options)
        except redis.RedisError:
            # What the job would act on stays as it is (a reply shows "sending"); nothing runs twice.
            log.warning("could not enqueue %s", func, exc_info=True)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous: SessionTransaction) -> None:
    # Only the outermost transaction's rollback: a savepoint's must not drop the outer work's jobs.
    if previous.parent is None:
        session.info.pop(_PENDING, None)
