"""The REST API, /api/v1: JSON for a church's own software, authenticated by API keys.

Built on flask-smorest: its marshmallow schemas both validate what a request sends (webargs)
and describe it in the OpenAPI document (apispec, emitting OpenAPI 3.1), so the document at
/api/v1/openapi.json cannot drift from what the API accepts. It extends a plain Flask app with
Blueprints (APIFlask would replace the Flask class itself) and the marshmallow it uses is a small,
long-kept dependency (SpecTree would bring pydantic for this one package).

Each request, in order (app/api/v1/auth.py, ratelimit.py, idempotency.py):
1. the per-key rate limit (Flask-Limiter, keyed on the key's digest): 429 with Retry-After;
2. `Authorization: Bearer kn_live_…`: 401 when missing, unknown, revoked or past its rotation;
3. the view's scope: 403 when the key lacks it;
4. ids in the path must be rows of the key's church: 404 otherwise, whatever the id;
5. on POST, `Idempotency-Key`: a replay of the first answer, or 409;
6. the view, through the same services as the pages.
No cookie session is opened and no CSRF token is asked for: a bearer key is not sent by browsers
on their own, so there is nothing for a forged cross-site request to ride on.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from app.api.v1 import (
    broadcasts_routes,
    conversations_routes,
    docs_routes,
    groups_routes,
    members_routes,
    schemas,
    webhooks_routes,
)
from app.extensions import csrf
from app.security.inputs import IdConverter

PREFIX = "/api/v1"


class KoinoniaApi(Api):
    """flask-smorest's Api, leaving errors to app/errors.py (one envelope everywhere)."""

    ERROR_SCHEMA = schemas.ErrorEnvelopeSchema

    def _register_error_handlers(self):
        # flask-smorest would install an HTTPException handler for the whole app, and answer its
        # own error shape on every page; the API's blueprints add what they need (see `blueprint`).
        pass


api = KoinoniaApi()


def init_api(app: Flask) -> None:
    """Bind the API, its documents and its blueprints to the app."""
    app.config.setdefault("API_TITLE", "Koinonia API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.1.0")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "info": {"description": docs_routes.INTRO},
            "servers": [{"url": "/"}],
            "security": [{"bearerAuth": []}],
        },
    )
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "An API key, `kn_live_…`."}
    )
    api.register_converter(IdConverter, lambda _converter: {"type": "integer", "minimum": 1})
    for blp in (
        members_routes.blp,
        groups_routes.blp,
        broadcasts_routes.blp,
        conversations_routes.blp,
        webhooks_routes.blp,
    ):
        csrf.exempt(blp)
        api.register_blueprint(blp, url_prefix=PREFIX)
    app.register_blueprint(docs_routes.bp)
