"""The OpenAPI document and the docs page: public, 3.1, generated from the schemas that validate."""

from __future__ import annotations

from jsonschema import Draft202012Validator


def test_the_document_is_public_and_3_1(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"] == "3.1.0"
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    member = doc["components"]["schemas"]["Member"]
    assert set(member["properties"]) == {
        "id",
        "first_name",
        "last_name",
        "phone",
        "email",
        "opted_out",
        "custom_fields",
    }
    assert member["properties"]["phone"]["type"] == ["string", "null"]
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    paths = set(doc["paths"])
    assert {"/api/v1/members", "/api/v1/members/{member_id}", "/api/v1/groups/{group_id}/members"} <= paths


def test_the_document_describes_what_the_api_refuses(api):
    # The request schema in the document is the one that answered this 422.
    response = api.post("/api/v1/members", json={"phone": "x" * 41})
    assert response.status_code == 422
    doc = api.client.get("/api/v1/openapi.json").get_json()
    assert doc["components"]["schemas"]["MemberInput"]["properties"]["phone"]["maxLength"] == 40


def test_the_docs_page_is_rendered_from_the_document_without_a_cdn(client, db):
    response = client.get("/api/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "GET /api/v1/members" in page and "POST /api/v1/members/upsert" in page
    assert 'id="schema-Member"' in page and "Idempotency-Key" in page
    assert "cdn" not in page.lower() and '<script src="http' not in page
