from app.api.health_routes import READINESS_CHECKS


def test_health_is_ok_without_io(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ready_reports_database_redis_and_queues(client):
    body = client.get("/health/ready").get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert set(body["checks"]["redis"]["queues"]) == {"high", "default", "low"}


def test_ready_names_redis_when_it_is_down(app, client, monkeypatch):
    """Point the check at a port where nothing listens: 503 naming redis."""
    import redis

    from app.extensions import rds

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    monkeypatch.setattr(rds, "_client", dead)
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["redis"]["status"] == "fail"
    assert "redis" in body["error"]["message"]
    assert set(READINESS_CHECKS) >= {"database", "redis"}


def test_json_error_envelope_on_api_paths(client):
    response = client.get("/api/nope")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.get("/webhooks/nope")
    assert response.get_json()["error"]["code"] == "not_found"


def test_unknown_page_gets_an_html_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b"find that page" in response.data
