"""JSON log lines: every `extra` field kept, JSON-safe and masked; gunicorn's lines are JSON too."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from app.logging import JSONFormatter
from app.security.masking import PIIMaskingFilter

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Batch:
    size: int
    to: str


def _emit(**kwargs) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    handler.addFilter(PIIMaskingFilter())
    logger = logging.getLogger("koinonia.test.jsonlog")
    logger.handlers, logger.propagate, logger.level = [handler], False, logging.DEBUG
    logger.info("sent batch for %s", "+13125550142", **kwargs)
    [line] = stream.getvalue().splitlines()
    return json.loads(line)


def test_extra_fields_are_kept_with_their_json_types():
    entry = _emit(extra={"broadcast_id": 42, "duration_ms": 12.5, "ok": True, "nothing": None, "queues": ["a", "b"]})
    assert entry["msg"] == "sent batch for +1312*****42"
    assert entry["broadcast_id"] == 42
    assert entry["duration_ms"] == 12.5
    assert entry["ok"] is True and entry["nothing"] is None
    assert entry["queues"] == ["a", "b"]


def test_standard_record_attributes_stay_out():
    entry = _emit(extra={"batch": 1})
    assert set(entry) == {"ts", "level", "logger", "msg", "batch"}


def test_values_are_made_json_safe():
    class Odd:
        def __str__(self) -> str:
            return "odd +13125550199"

    when = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    entry = _emit(
        extra={
            "when": when,
            "took": timedelta(milliseconds=1500),
            "price": Decimal("0.0079"),
            "raw": b"\x00\x01\x02",
            "obj": Odd(),
            "batch": Batch(size=3, to="+13125550177"),
            "ids": {3, 1, 2},
            "nan": float("nan"),
        }
    )
    assert entry["when"] == when.isoformat()
    assert entry["took"] == 1.5
    assert entry["price"] == "0.0079"
    assert entry["raw"] == "<3 bytes>"
    assert entry["obj"] == "odd +1312*****99"
    assert entry["batch"] == {"size": 3, "to": "+1312*****77"}
    assert sorted(entry["ids"]) == [1, 2, 3]
    assert entry["nan"] == "nan"


def test_phone_numbers_and_emails_are_masked_at_any_depth():
    entry = _emit(
        extra={
            "to": "+13125550142",
            "recipients": ["+13125550143", {"email": "john.doe@example.org", "numbers": ("+447700900123",)}],
        }
    )
    text = json.dumps(entry)
    for raw in ("+13125550142", "+13125550143", "john.doe@example.org", "+447700900123"):
        assert raw not in text
    assert entry["to"] == "+1312*****42"
    assert entry["recipients"][1]["email"] == "j***@example.org"


def test_an_extra_named_like_a_line_key_is_kept_beside_it():
    entry = _emit(extra={"level": "church", "ts": 1})
    assert entry["level"] == "info" and entry["extra_level"] == "church"
    assert entry["extra_ts"] == 1


def test_tracebacks_are_masked():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    handler.addFilter(PIIMaskingFilter())
    logger = logging.getLogger("koinonia.test.jsonlog.exc")
    logger.handlers, logger.propagate = [handler], False
    try:
        raise ValueError("bad number +13125550142")
    except ValueError:
        logger.exception("failed", extra={"member_id": 9})
    entry = json.loads(stream.getvalue())
    assert "ValueError: bad number +1312*****42" in entry["exc"]
    assert entry["member_id"] == 9


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_access_and_error_logs_are_json_lines(tmp_path):
    """The real gunicorn, with the project's gunicorn.conf.py, serving a tiny app."""
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SECRET_KEY": "a-long-enough-secret-key",
        "DATABASE_URL": "postgresql://u:p@localhost:5432/db",
        "REDIS_URL": "redis://localhost:6379/0",
        "KOINONIA_ENV": "development",
        "LOG_FORMAT": "json",
        "GUNICORN_ACCESS_LOG": "-",
        "WEB_CONCURRENCY": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
            + ["tests.unit.tiny_wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    r = httpx.get(f"http://127.0.0.1:{port}/people?q=%2B13125550142", headers={"User-Agent": "t"})
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, err.read_text()
                    assert time.monotonic() < deadline, "gunicorn did not start"
                    time.sleep(0.1)
            assert r.status_code == 200
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    access = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    assert len(access) == 1, out.read_text()
    line = access[0]
    assert line["logger"] == "gunicorn.access"
    assert line["msg"] == "GET /people 200"
    assert line["http_method"] == "GET" and line["http_path"] == "/people" and line["http_status"] == 200
    assert line["request_id"] == "req-123"
    assert line["user_agent"] == "t"
    assert isinstance(line["duration_ms"], float)
    assert line["http_query"] == "q=+1312*****42"
    assert "13125550142" not in out.read_text()
    errors = [json.loads(line) for line in err.read_text().splitlines() if line.strip()]
    assert errors, "no error-log lines"
    assert all(e["logger"] == "gunicorn.error" for e in errors)
    assert any("Listening at" in e["msg"] for e in errors)
    assert any("Shutting down" in e["msg"] or "Handling signal" in e["msg"] for e in errors)
