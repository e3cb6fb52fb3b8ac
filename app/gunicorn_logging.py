"""gunicorn's error and access logs as JSON lines, like the app's own (LOG_FORMAT=json).

gunicorn.conf.py names `JSONLogger` as gunicorn's `logger_class` when LOG_FORMAT is json. Error
lines go through app.logging.JSONFormatter; each access line carries the request's facts as
fields (method, path, status, duration, bytes, client, request id) rather than a combined-log
string a log pipeline has to parse again. Phone numbers and emails are masked, as everywhere.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

from gunicorn import glogging

from app.logging import JSONFormatter
from app.security.masking import PIIMaskingFilter


class JSONLogger(glogging.Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JSONFormatter())
                if not any(isinstance(f, PIIMaskingFilter) for f in handler.filters):
                    handler.addFilter(PIIMaskingFilter())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.cfg.accesslog:
            return
        status = resp.status
        status = int(status.split(None, 1)[0]) if isinstance(status, str) else status
        method, path = environ.get("REQUEST_METHOD", "-"), environ.get("PATH_INFO", "")
        headers = resp.headers.items() if hasattr(resp.headers, "items") else resp.headers  # a list of pairs
        request_id = next((v for k, v in headers if k.lower() == "x-request-id"), None)
        fields = {
            "http_method": method,
            "http_path": path,
            # Decoded, so the masking filter sees "+1312…" rather than "%2B1312…".
            "http_query": unquote_plus(environ.get("QUERY_STRING") or "") or None,
            "http_status": status,
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "response_bytes": getattr(resp, "sent", None),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "request_id": request_id,
        }
        try:
            self.access_log.info(
                "%s %s %s", method, path, status, extra={k: v for k, v in fields.items() if v is not None}
            )
        except Exception:  # noqa: BLE001 - gunicorn's own behaviour: a bad line never fails a request
            self.exception("access log line failed")
