"""schemathesis against /api/v1/openapi.json, through the app with a real key: no 5xx, no answer
the document does not describe. A few examples per operation keep `make test` quick."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.extensions import limiter

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def api_schema(app, db):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def bearer(make_key):
    return {"Authorization": f"Bearer {make_key()}"}


@pytest.fixture
def unlimited():
    # The examples come faster than any client is allowed to; the limit has its own test.
    limiter.enabled = False
    yield
    limiter.enabled = True


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_its_document(case, bearer, unlimited):
    case.call_and_validate(headers=bearer, checks=CHECKS)
