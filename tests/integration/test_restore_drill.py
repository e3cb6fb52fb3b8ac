"""The restore drill on the test server's seeded database: a base backup and the archived WAL
restore it to a point in time, table for table (scripts/backup.py; make restore-drill)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_restore_drill_restores_the_seeded_database_to_a_point_in_time(app):
    datadir = os.environ.get("TEST_PG_DIR")
    if not datadir:
        pytest.skip("no TEST_PG_DIR: make test sets it when it starts its own PostgreSQL")
    url = urlsplit(app.config["SQLALCHEMY_DATABASE_URI"])
    cmd = [sys.executable, str(ROOT / "scripts/backup.py"), "drill", "--dir", datadir, "--pg-port", str(url.port)]
    cmd += ["--db", url.path.lstrip("/"), "--fresh"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    print(result.stdout, result.stderr)  # the RTO and RPO, in the test's output
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tables match the source" in result.stdout
    assert "RTO:" in result.stdout and "RPO:" in result.stdout
    tables = int(result.stdout.split(" tables, ")[0].rsplit(" ", 1)[1])
    assert tables >= 30  # every table of the schema was compared, not an empty database
