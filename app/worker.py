"""The RQ worker: one process per host (or more), queues high > default > low, scheduler on.

RQ forks a work horse per job. The child inherits the parent's app context (so jobs may use
`db.session` and `rds` directly) but must not reuse the parent's pooled database connections,
so each horse starts with a fresh SQLAlchemy pool.
"""

from __future__ import annotations

import logging
import signal
import time

from flask import Flask
from redis.exceptions import RedisError
from rq import Worker

from app.extensions import QUEUE_NAMES, db, rds
from app.periodic import Ticker

log = logging.getLogger(__name__)


class KoinoniaWorker(Worker):
    stopping = False  # a shutdown was asked for (SIGTERM/SIGINT), as opposed to RQ giving up

    def main_work_horse(self, job, queue):  # runs in the forked child
        # close=False: the parent still owns those sockets; just forget them here.
        db.engine.dispose(close=False)
        return super().main_work_horse(job, queue)

    def request_stop(self, signum, frame):
        self.stopping = True
        return super().request_stop(signum, frame)


def _wait_for_redis(pause: float = 1.0) -> None:
    """Block until Redis answers again (it restarted, or the network came back)."""
    while True:
        try:
            rds.client.ping()
            return
        except RedisError:
            time.sleep(pause)


def run(app: Flask, queue_names: list[str] | None = None, *, burst: bool = False) -> int:
    names = queue_names or list(QUEUE_NAMES)
    unknown = sorted(set(names) - set(QUEUE_NAMES))
    if unknown:
        log.error("unknown queue(s): %s (known: %s)", ", ".join(unknown), ", ".join(QUEUE_NAMES))
        return 2
    queues = [rds.queue(n) for n in names]
    # The parent holds no database connection while it waits for work.
    db.engine.dispose()
    log.info("worker starting", extra={"queues": names})
    ticker = None
    if not burst:
        ticker = Ticker({n: rds.queue(n) for n in QUEUE_NAMES})
        ticker.start()
    # RQ logs three INFO lines per job; with sweeps every few seconds that buries everything else.
    # Failures still log at WARNING/ERROR; LOG_LEVEL=DEBUG brings the per-job lines back.
    rq_level = "DEBUG" if app.config.get("LOG_LEVEL") == "DEBUG" else "WARNING"
    try:
        while True:
            worker = None
            try:
                worker = KoinoniaWorker(queues, connection=rds.client)
                ok = worker.work(with_scheduler=True, burst=burst, logging_level=rq_level)
            except RedisError:  # Redis is away (a restart, a failover): at start, or RQ quit over it
                ok = False
            if burst or (worker is not None and worker.stopping):
                break
            # RQ gave up on its own, or could not start (Redis went away): wait for Redis, then
            # work again, rather than leave the host without a worker until someone restarts it.
            log.warning("the RQ worker stopped without being asked; restarting it once Redis answers")
            # RQ's handlers would ask Redis about the worker; while waiting, a signal just ends us.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            time.sleep(1)
            _wait_for_redis()
    finally:
        if ticker:
            ticker.stop()
    return 0 if ok or not burst else 1
