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
    """Metrics in the Prometheus text format, for the operator's scraper only.

    Figures are summed over every church, so no church's user may read them. With METRICS_TOKEN set
    a bearer token is required; in production without one the endpoint answers 403 and never
    serves, whoever asks. We do not fall back to "loopback clients only": ProxyFix trusts one
    X-Forwarded-For hop, so behind no proxy any client could claim 127.0.0.1, and behind a
    same-host proxy every client would look like loopback. Outside production it stays open for
    local Prometheus and the tests.
    """
    token = current_app.config.get("METRICS_TOKEN")
    if not token and current_app.config.get("KOINONIA_ENV") == "production":
        return json_error(403, "forbidden", "Set METRICS_TOKEN to scrape /metrics in production.")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return json_error(401, "unauthorized", "A valid bearer token is required for /metrics.")
    return Response(render_metrics(current_app), mimetype="text/plain; version=0.0.4; charset=utf-8")
