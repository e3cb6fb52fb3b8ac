"""Structured logs: JSON (or console) lines with request id, church id and user id; PII masked."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from flask import Flask, g, has_request_context

from app.security.masking import PIIMaskingFilter


class ContextFilter(logging.Filter):
    """Attach request_id / church_id / user_id from the request, when there is one."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = record.church_id = record.user_id = None
        if has_request_context():
            record.request_id = g.get("request_id")
            # Only a user the request already loaded: a log line must not open the session or
            # query the database (webhooks and health checks have no session at all).
            user = g.get("_login_user")
            try:
                if user is not None and user.is_authenticated:
                    record.church_id = user.church_id
                    record.user_id = user.id
            except Exception:  # noqa: BLE001 - logging must never break a request
                pass
        return True


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("request_id", "church_id", "user_id"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(app: Flask) -> None:
    """Route the root logger to stderr in the configured format, with context and masking."""
    handler = logging.StreamHandler(sys.stderr)
    if app.config["LOG_FORMAT"] == "json":
        handler.setFormatter(JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    handler.addFilter(ContextFilter())
    handler.addFilter(PIIMaskingFilter())
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "_koinonia", False)]
    handler._koinonia = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    logging.getLogger("werkzeug").setLevel("WARNING")
