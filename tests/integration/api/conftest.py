"""Fixtures for /api/v1: keys made through the service the settings page uses, and a JSON client."""

from __future__ import annotations

import pytest

from app.api.v1 import keys
from app.auth.services import find_user_by_email
from app.models.api_keys import API_SCOPES

OWNERS = {"grace": "admin@example.org", "hope": "admin@hope.example.org"}


@pytest.fixture
def make_key(db):
    """make_key(scopes=..., church="grace") -> the key's secret (committed, as the page commits it)."""

    def _make(scopes=API_SCOPES, church="grace", name="Test key"):
        owner = find_user_by_email(OWNERS[church])
        made = keys.create_key(owner, name, list(scopes))
        db.session.commit()
        return made.secret

    return _make


class ApiClient:
    """The test client with a bearer key on every request; every answer is checked against the document."""

    def __init__(self, client, secret, check):
        self.client, self.secret, self.check = client, secret, check

    def open(self, method, path, *, json=None, headers=None, **kwargs):
        sent = {"Authorization": f"Bearer {self.secret}", **(headers or {})}
        response = self.client.open(path, method=method, json=json, headers=sent, **kwargs)
        self.check(method, path, response)
        return response

    def get(self, path, **kw):
        return self.open("GET", path, **kw)

    def post(self, path, **kw):
        return self.open("POST", path, **kw)

    def patch(self, path, **kw):
        return self.open("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.open("DELETE", path, **kw)


@pytest.fixture
def api(client, make_key, openapi_check):
    """A client with a key of Grace Community Church holding every scope."""
    return ApiClient(client, make_key(), openapi_check)


@pytest.fixture
def api_as(client, make_key, openapi_check):
    def _api(scopes=API_SCOPES, church="grace"):
        return ApiClient(client, make_key(scopes, church), openapi_check)

    return _api


@pytest.fixture
def openapi_check(app):
    """Validate an /api/v1 answer against the OpenAPI document's schema for its path, method and status."""
    from tests.integration.api.openapi_validator import OpenApiValidator

    with app.test_request_context():
        validator = OpenApiValidator(app.test_client().get("/api/v1/openapi.json").get_json())
    return validator.check
