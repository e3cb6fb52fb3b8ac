"""The sign-in throttle: per account, per address and per pair, charged before the password is checked."""

import os
import socket
import threading

import pytest
import redis
from flask import request

from app import create_app
from app.auth import services
from app.auth.services import find_user_by_email
from app.config import TestConfig as AppTestConfig  # pytest would collect a Test* name
from app.extensions import rds
from app.security import login_throttle

WRONG = {"email": "admin@example.org", "password": "wrong"}


def _post(client, data, address="203.0.113.7", **headers):
    return client.post("/login", data=data, headers=headers, environ_base={"REMOTE_ADDR": address})


@pytest.fixture
def hashes(monkeypatch):
    """How many passwords were checked (each is a 64 MiB argon2 hash)."""
    checked = []
    real = services.verify_password

    def counting(password_hash, password):
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(services, "verify_password", counting)
    return checked


def test_changing_x_forwarded_for_does_not_reset_the_limit(client):
    """With no proxy declared (TRUSTED_PROXY_HOPS=0), the header is the client's own word."""
    for i in range(5):
        assert _post(client, WRONG, **{"X-Forwarded-For": f"198.51.100.{i}"}).status_code == 422
    response = _post(client, WRONG, **{"X-Forwarded-For": "198.51.100.99"})
    assert response.status_code == 429


def test_an_account_is_paused_after_ten_failures_from_any_addresses(client):
    for i in range(10):
        assert _post(client, WRONG, address=f"198.51.100.{i}").status_code == 422
    right = {"email": "admin@example.org", "password": "koinonia-demo"}
    response = _post(client, right, address="198.51.100.200")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    html = response.get_data(as_text=True)
    assert "Too many attempts" in html and 'value="admin@example.org"' in html  # the form, with a message


def test_an_address_is_paused_after_fifty_failures_whatever_the_email(client):
    for i in range(50):
        attempt = {"email": f"someone{i}@example.org", "password": "koinonia-demo"}
        assert _post(client, attempt).status_code == 422
    right = {"email": "leader@example.org", "password": "koinonia-demo"}
    assert _post(client, right).status_code == 429
    assert _post(client, right, address="198.51.100.1").status_code == 302  # another address is not


def test_a_refused_attempt_computes_no_hash(client, hashes):
    for _ in range(5):
        _post(client, WRONG)
    assert len(hashes) == 5
    assert _post(client, WRONG).status_code == 429
    assert len(hashes) == 5


def test_successful_sign_ins_do_not_count(client):
    right = {"email": "admin@example.org", "password": "koinonia-demo"}
    for _ in range(12):
        assert _post(client, right).status_code == 302
        client.post("/logout")


def test_parallel_attempts_are_each_counted(app, db):
    """Charged before checking, atomically: of 20 attempts arriving at once, only 5 go through."""
    start = threading.Barrier(20)
    allowed = []

    def attempt():
        with app.app_context():
            start.wait()
            allowed.append(not login_throttle.charge("203.0.113.9", "admin@example.org").refused)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 5


def test_an_inactive_account_costs_the_same_hash_as_an_active_one(client, db, hashes):
    user = find_user_by_email("leader@example.org")
    user.active = False
    db.session.commit()
    response = _post(client, {"email": "leader@example.org", "password": "koinonia-demo"})
    assert response.status_code == 422
    assert hashes == [user.password_hash]


@pytest.mark.parametrize(("hops", "seen"), [("0", "192.0.2.1"), ("1", "198.51.100.5")])
def test_x_forwarded_for_is_read_only_behind_declared_proxies(monkeypatch, hops, seen):
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", hops)
    monkeypatch.setenv("TEST_DATABASE_URL", os.environ["TEST_DATABASE_URL_ACTIVE"])
    app = create_app(AppTestConfig)
    app.add_url_rule("/client-address", "client_address", lambda: request.remote_addr or "")
    response = app.test_client().get(
        "/client-address", headers={"X-Forwarded-For": "198.51.100.5"}, environ_base={"REMOTE_ADDR": "192.0.2.1"}
    )
    assert response.get_data(as_text=True) == seen


def test_with_redis_unreachable_sign_in_is_refused_plainly_without_checking_the_password(client, hashes, monkeypatch):
    """The counters live in Redis: while it is down nobody signs in unthrottled, and nobody sees a 500."""
    with socket.socket() as s:  # a port nothing listens on: a real client, a dead server
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(rds, "_client", redis.Redis(port=port, socket_connect_timeout=1))
    right = {"email": "admin@example.org", "password": "koinonia-demo"}
    response = _post(client, right)
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    assert "Signing in is briefly unavailable" in response.get_data(as_text=True)
    assert hashes == []
