"""Structured logs: JSON (or console) lines with request id, church id and user id; PII masked."""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import PurePath
from typing import Any
from uuid import UUID

from flask import Flask, g, has_request_context

from app.security.masking import STANDARD_ATTRS, PIIMaskingFilter, mask_text

# Set on every record by ContextFilter and written by the formatter on their own.
_CONTEXT_KEYS = frozenset({"request_id", "church_id", "user_id"})
_MAX_DEPTH = 6


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


def json_safe(value: Any, depth: int = 0) -> Any:
    """`value` as plain JSON types, every string in it masked (nested `extra` values too)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, enum.Enum):
        return json_safe(value.value, depth)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID | PurePath):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"  # raw bytes in a log line help nobody and may hold anything
    if depth >= _MAX_DEPTH:
        return mask_text(repr(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, Mapping):
        return {mask_text(str(k)): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [json_safe(v, depth + 1) for v in items]
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - a broken __str__ must not lose the log line
        text = f"<unprintable {type(value).__name__}>"
    return mask_text(text)


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's `extra=` fields: whatever is not a standard LogRecord attribute."""
    return {
        key: value
        for key, value in vars(record).items()
        if key not in STANDARD_ATTRS and key not in _CONTEXT_KEYS and not key.startswith("_")
    }


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context, every `extra` field."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            # Masked again: a handler without PIIMaskingFilter (gunicorn's) must not leak either.
            "msg": mask_text(record.getMessage()),
        }
        for key in ("request_id", "church_id", "user_id"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        for key, value in extra_fields(record).items():
            # An `extra` named like one of the line's own keys ("level", "ts") is kept beside it.
            entry[f"extra_{key}" if key in entry else key] = json_safe(value)
        if record.exc_info:
            # PIIMaskingFilter leaves the masked traceback in exc_text; formatException is the fallback.
            entry["exc"] = record.exc_text or mask_text(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = mask_text(self.formatStack(record.stack_info))
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
