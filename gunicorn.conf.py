"""gunicorn settings. Values come from the environment so one file serves dev and production."""

import multiprocessing
import os
import sys

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = 5000
max_requests_jitter = 500
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    """Validate configuration before forking workers: one clear line and a non-zero exit."""
    from app.config import Config, ConfigError

    try:
        Config()
    except ConfigError as exc:
        print(f"koinonia: configuration error: {exc}", file=sys.stderr)
        sys.exit(1)
