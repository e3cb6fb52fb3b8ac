"""Prometheus scrape endpoint."""

from __future__ import annotations

import hmac

from flask import Response, current_app, request

from app.api import bp
from app.errors import json_error
from app.extensions import csrf, limiter
from app.metrics import render_metrics


@bp.get("/metrics")
@limiter.exempt
@csrf.exempt
def metrics():
    """Metrics in the Prometheus text format; a bearer token is required when METRICS_TOKEN is set."""
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return json_error(401, "unauthorized", "A valid bearer token is required for /metrics.")
    return Response(render_metrics(current_app), mimetype="text/plain; version=0.0.4; charset=utf-8")
