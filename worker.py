"""RQ worker entry: `python worker.py [queue ...]` (default: high, default, low, scheduler on)."""

from __future__ import annotations

import sys

from app import create_app
from app.worker import run

if __name__ == "__main__":
    app = create_app()
    with app.app_context():
        sys.exit(run(app, sys.argv[1:]))
