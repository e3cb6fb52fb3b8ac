"""Prometheus /metrics and the slow-query log."""

from __future__ import annotations

import logging

from sqlalchemy import text


def test_metrics_exposes_requests_queues_and_webhook_lag(client):
    client.get("/health")
    response = client.get("/metrics")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'koinonia_http_requests_total{endpoint="api.health",method="GET",status="200"}' in body
    assert "koinonia_http_request_duration_seconds_bucket" in body
    assert 'koinonia_queue_depth{queue="high"} 0.0' in body
    assert "koinonia_webhook_lag_seconds" in body
    assert 'koinonia_messages_today{kind="sent"}' in body


def test_metrics_token_is_required_when_configured(app, client):
    app.config["METRICS_TOKEN"] = "s3cret-token"
    try:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics").get_json()["error"]["code"] == "unauthorized"
        ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200
    finally:
        app.config["METRICS_TOKEN"] = None


def test_slow_queries_are_logged_without_parameters(app, db, caplog):
    from app.metrics import install_slow_query_log

    install_slow_query_log(db.engine, 1)  # already installed: the threshold stays the configured one
    with caplog.at_level(logging.WARNING, logger="app.metrics"):
        db.session.execute(
            text("SELECT pg_sleep(:s), :phone"),
            {"s": app.config["SLOW_QUERY_MS"] / 1000 + 0.05, "phone": "+13125550142"},
        )
    messages = [r.getMessage() for r in caplog.records if r.name == "app.metrics"]
    assert any("slow query" in m and "pg_sleep" in m for m in messages)
    assert not any("+13125550142" in m for m in messages)


def test_metrics_are_never_public_in_production_without_a_token(app, client, login_as):
    app.config["KOINONIA_ENV"] = "production"
    try:
        assert client.get("/metrics").status_code == 403
        # A church's signed-in owner is no operator: the figures sum every church.
        login_as("owner")
        refused = client.get("/metrics")
        assert refused.status_code == 403 and b"koinonia_messages_today" not in refused.data
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403
    finally:
        app.config["KOINONIA_ENV"] = "test"


def test_metrics_in_production_answer_the_operators_token(app, client):
    app.config.update(KOINONIA_ENV="production", METRICS_TOKEN="s3cret-token")
    try:
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200 and b"koinonia_messages_today" in ok.data
    finally:
        app.config.update(KOINONIA_ENV="test", METRICS_TOKEN=None)
