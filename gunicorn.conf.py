"""gunicorn settings. Values come from the environment so one file serves dev and production."""

import multiprocessing
import os
import shutil
import sys
import tempfile

# Prometheus counters from every gunicorn worker are merged through files in this directory.
# It must be set before a worker imports prometheus_client, hence here and not in the app.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="koinonia-metrics-")

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
# A leak guard, not a routine: at webhook rates (~1,000/s) 5,000 meant a restart every few
# seconds per worker, dropping Telnyx's kept-alive connections and re-booting the app on 2 cores.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
# Error and access lines as JSON, like the app's, unless LOG_FORMAT says console (the app's
# default is json; `make dev` sets console).
if os.environ.get("LOG_FORMAT", "json").strip().lower() == "json":
    logger_class = "app.gunicorn_logging.JSONLogger"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    """Validate configuration before forking workers: one clear line and a non-zero exit."""
    from app.config import Config, ConfigError

    try:
        Config()
    except ConfigError as exc:
        print(f"koinonia: configuration error: {exc}", file=sys.stderr)
        sys.exit(1)
    # Counters left by a previous run would be added to this one's.
    metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(metrics_dir, ignore_errors=True)
    os.makedirs(metrics_dir, exist_ok=True)


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the merged metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
