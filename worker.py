"""RQ worker entry: `python worker.py [queue ...]` (default: high, default, low, scheduler on)."""

from __future__ import annotations

import sys

from app import create_app
from app.config import ConfigError
from app.worker import run

if __name__ == "__main__":
    try:
        app = create_app()
    except ConfigError as exc:
        # The same one line and exit status as gunicorn's on_starting and the flask CLI (wsgi.py).
        print(f"koinonia: configuration error: {exc}", file=sys.stderr)
        sys.exit(1)
    with app.app_context():
        sys.exit(run(app, sys.argv[1:]))
