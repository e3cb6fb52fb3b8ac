"""Prometheus metrics and slow-query logging.

Request counters and latency histograms are kept per process; under gunicorn they are
aggregated across workers through PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py sets it).
Queue depths, webhook backlog and lag, and today's message counters are read when
/metrics is scraped (cheap reads of Redis and of indexed rows), so they are right whatever
process did the work.
"""

from __future__ import annotations

import logging
import os
import time

from flask import Flask, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import event, text

from app import webhook_processor
from app.extensions import db, rds

log = logging.getLogger(__name__)

REQUESTS = Counter("koinonia_http_requests_total", "HTTP requests", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "koinonia_http_request_duration_seconds",
    "HTTP request latency",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class StateCollector:
    """Gauges computed at scrape time from Redis and PostgreSQL."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):
        with self.app.app_context():
            depth = GaugeMetricFamily("koinonia_queue_depth", "Jobs waiting per RQ queue", labels=["queue"])
            try:
                for queue in rds.queues:
                    depth.add_metric([queue.name], queue.count)
            except Exception:  # noqa: BLE001 - a scrape must not fail because Redis blinked
                log.warning("metrics: Redis unavailable")
            yield depth

            backlog = GaugeMetricFamily("koinonia_webhook_backlog", "Stored provider events not yet processed")
            lag = GaugeMetricFamily("koinonia_webhook_lag_seconds", "Age of the oldest unprocessed provider event")
            today = GaugeMetricFamily(
                "koinonia_messages_today", "Messages counted today, all churches", labels=["kind"]
            )
            try:
                pending = webhook_processor.backlog()
                backlog.add_metric([], pending["pending"])
                lag.add_metric([], pending["oldest_seconds"])
                totals = db.session.execute(
                    text(
                        "SELECT coalesce(sum(sent),0), coalesce(sum(delivered),0), coalesce(sum(failed),0), "
                        "coalesce(sum(inbound),0), coalesce(sum(opt_outs),0) FROM daily_stats WHERE day = current_date"
                    )
                ).one()
                for kind, value in zip(("sent", "delivered", "failed", "inbound", "opt_outs"), totals, strict=True):
                    today.add_metric([kind], value)
            except Exception:  # noqa: BLE001
                log.warning("metrics: database unavailable")
            finally:
                db.session.remove()
            yield backlog
            yield lag
            yield today


def render_metrics(app: Flask) -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(StateCollector(app))
    return generate_latest(registry)


def init_metrics(app: Flask) -> None:
    @app.after_request
    def observe(response):
        started = g.get("request_started")
        endpoint = request.endpoint or "unmatched"
        if started is not None and endpoint != "api.metrics":
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
            REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        return response


def install_slow_query_log(engine, threshold_ms: int) -> None:
    """Log statements slower than threshold_ms (the SQL text only: parameters may hold PII)."""
    if getattr(engine, "_koinonia_slow_log", False):
        return
    engine._koinonia_slow_log = True

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("query_started", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _finish(conn, cursor, statement, parameters, context, executemany):
        stack = conn.info.get("query_started")
        if not stack:
            return
        ms = (time.perf_counter() - stack.pop()) * 1000
        if ms >= threshold_ms:
            log.warning("slow query %.0f ms: %s", ms, " ".join(statement.split())[:500], extra={"duration_ms": ms})
