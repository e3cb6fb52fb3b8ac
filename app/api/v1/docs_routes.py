"""/api/docs: the API's reference, rendered on the server from the OpenAPI document itself.

No documentation UI is loaded from a CDN (the CSP allows none) and no script is needed: the page
is the same document as /api/v1/openapi.json, laid out as endpoints, parameters and schemas.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

INTRO = (
    "Koinonia's REST API: members, groups, broadcasts, conversations and webhook endpoints of one church, "
    "for that church's own software. "
    "Send an API key made at /settings/api-keys as `Authorization: Bearer kn_live_…`. "
    'Lists answer `{"data": [...], "next_cursor": …}`: pass `?cursor=<next_cursor>` for the next page '
    "until it is null. Every POST accepts an `Idempotency-Key` header: the same key with the same body "
    "replays the first answer for 24 hours; with another body it answers 409. Errors answer "
    '`{"error": {"code", "message", "details"}}`; a 422 lists each field\'s problems in `details`. '
    "Each key may make 100 requests a minute, at most 20 in any 10 seconds; past that, 429 with "
    "`Retry-After`, and `RateLimit` / `RateLimit-Policy` headers on every answer."
)

bp = Blueprint("api_docs", __name__)

METHODS = ("get", "post", "put", "patch", "delete")


def _schema_name(schema: dict | None) -> str | None:
    ref = (schema or {}).get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else None


def _operations(spec: dict) -> list[dict]:
    ops = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            responses = []
            for status, answer in op.get("responses", {}).items():
                if "$ref" in answer:
                    answer = spec["components"]["responses"][_schema_name(answer)]
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                responses.append(
                    {"status": status, "description": answer.get("description", ""), "schema": _schema_name(schema)}
                )
            ops.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "tag": (op.get("tags") or [""])[0],
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [*item.get("parameters", []), *op.get("parameters", [])],
                    "body": _schema_name(body),
                    "responses": responses,
                }
            )
    return ops


def _type(prop: dict) -> str:
    if "$ref" in prop:
        return _schema_name(prop)
    kind = prop.get("type", "")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "array":
        return f"array of {_type(prop.get('items', {}))}"
    return kind or "any"


@bp.get("/api/docs")
def docs():
    """The API reference, from the OpenAPI document."""
    spec = current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()
    schemas = {
        name: [
            {
                "name": field,
                "type": _type(prop),
                "required": field in schema.get("required", []),
                "about": prop.get("description", ""),
            }
            for field, prop in schema.get("properties", {}).items()
        ]
        for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items())
    }
    return render_template("api/docs.html", spec=spec, operations=_operations(spec), schemas=schemas, type_of=_type)
