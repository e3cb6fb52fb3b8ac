"""Check API answers against /api/v1/openapi.json with jsonschema (OpenAPI 3.1 is JSON Schema 2020-12)."""

from __future__ import annotations

import re

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOC_URI = "urn:koinonia:openapi"


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class OpenApiValidator:
    def __init__(self, document: dict):
        self.document = document
        self.registry = Registry().with_resource(DOC_URI, Resource(document, specification=DRAFT202012))
        self.routes = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", r"[^/]+", path) + "$"), path) for path in document["paths"]
        ]
        self.checked = 0

    def template_of(self, path: str) -> str:
        bare = path.split("?", 1)[0]
        for pattern, template in self.routes:
            if pattern.match(bare):
                return template
        raise AssertionError(f"{path} is not in the OpenAPI document")

    def check(self, method: str, path: str, response) -> None:
        """Raise when `response` is not one the document describes for this operation."""
        if not path.startswith("/api/v1/") or path.startswith("/api/v1/openapi.json"):
            return
        template = self.template_of(path)
        operation = self.document["paths"][template].get(method.lower())
        assert operation is not None, f"{method} {template} is not in the OpenAPI document"
        responses = operation["responses"]
        status = str(response.status_code)
        if status in responses:
            key = status
        elif response.status_code >= 400:
            # Errors every operation may answer (401, 403, 404, 409, 429…) share the envelope.
            key = None
        else:
            raise AssertionError(f"{method} {template} answered {status}, not in the document: {sorted(responses)}")
        if response.status_code == 204:
            assert not response.data
            return
        body = response.get_json()
        if key is None:
            schema = {"$ref": f"{DOC_URI}#/components/schemas/ErrorEnvelope"}
        else:
            answer = responses[key]
            if "$ref" in answer:
                name = answer["$ref"].rsplit("/", 1)[-1]
                answer = self.document["components"]["responses"][name]
            content = answer.get("content", {}).get("application/json")
            assert content is not None, f"{method} {template} {status} has no JSON schema"
            pointer = _pointer("paths", template, method.lower(), "responses", key)
            if "$ref" in responses[key]:
                pointer = _pointer("components", "responses", name)
            schema = {"$ref": f"{DOC_URI}#/{pointer}/content/application~1json/schema"}
        Draft202012Validator(schema, registry=self.registry).validate(body)
        self.checked += 1
