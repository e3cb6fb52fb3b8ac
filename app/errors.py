"""The error hierarchy and the handlers that turn errors into pages or JSON envelopes."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/health", "/webhooks/", "/api/", "/metrics")


class RetryLater(Exception):
    """Raised by a webhook handler when its event cannot be applied yet (e.g. the message is unknown).

    The webhook processor (app.webhook_processor) catches it and tries the event again later.
    """


class AppError(Exception):
    """Base of errors we raise on purpose; each carries an HTTP status and a stable code."""

    status = 400
    code = "error"

    def __init__(self, message: str, *, details: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ValidationError(AppError):
    status, code = 422, "validation_error"


class AuthError(AppError):
    status, code = 401, "unauthorized"


class PermissionDenied(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class Conflict(AppError):
    status, code = 409, "conflict"


class ProviderFailure(AppError):
    status, code = 502, "provider_error"


def wants_json() -> bool:
    """JSON for machine endpoints (health, webhooks, API); HTML pages for people."""
    return request.path.startswith(JSON_PREFIXES) or request.path == "/health"


def json_error(status: int, code: str, message: str, details: dict | None = None):
    body = {"error": {"code": code, "message": message}}
    if details:
        body["error"]["details"] = details
    return jsonify(body), status


def _page(status: int, title: str, message: str):
    template = f"errors/{status}.html" if status in (400, 403, 404, 413, 429, 500) else "errors/error.html"
    return render_template(template, status=status, title=title, message=message), status


def register_error_handlers(app: Flask) -> None:
    """Install handlers so clients never see a stack trace."""

    @app.errorhandler(AppError)
    def handle_app_error(err: AppError):
        if wants_json():
            return json_error(err.status, err.code, err.message, err.details)
        return _page(err.status, err.code.replace("_", " ").capitalize(), err.message)

    @app.errorhandler(CSRFError)
    def handle_csrf(err: CSRFError):
        if wants_json():
            return json_error(400, "csrf_failed", err.description)
        message = "This form has expired or was sent from elsewhere. Go back, reload the page and try again."
        return _page(400, "Form expired", message)

    @app.errorhandler(HTTPException)
    def handle_http(err: HTTPException):
        status = err.code or 500
        code = (err.name or "error").lower().replace(" ", "_")
        if wants_json():
            response, status = json_error(status, code, err.description or err.name)
        else:
            response, status = _page(status, err.name, err.description or "")
        if status == 405 and hasattr(err, "valid_methods") and err.valid_methods:
            return response, status, {"Allow": ", ".join(err.valid_methods)}
        return response, status

    @app.errorhandler(Exception)
    def handle_unexpected(err: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        message = "Something went wrong on our side. It has been logged; please try again."
        if wants_json():
            return json_error(500, "internal_error", message)
        return _page(500, "Server error", message)
