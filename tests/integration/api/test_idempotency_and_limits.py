"""Idempotency-Key on POST and the per-key rate limit."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.api.v1.idempotency import redis_key
from app.extensions import rds
from app.models import Member
from app.models.api_keys import ApiKey


def _count(db, church, phone):
    stmt = select(func.count()).select_from(Member).where(Member.church_id == church.id, Member.phone_e164 == phone)
    return db.session.scalar(stmt)


def test_the_same_key_and_body_replays_the_first_answer(api, db, church):
    headers = {"Idempotency-Key": "create-ada-1"}
    first = api.post("/api/v1/members", json={"first_name": "Ada", "phone": "+13125550150"}, headers=headers)
    assert first.status_code == 201
    # The same body, keys in another order: the same request.
    again = api.post("/api/v1/members", json={"phone": "+13125550150", "first_name": "Ada"}, headers=headers)
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(db, church, "+13125550150") == 1


def test_the_same_key_with_another_body_answers_409(api, db, church):
    headers = {"Idempotency-Key": "create-ada-2"}
    assert api.post("/api/v1/members", json={"phone": "+13125550151"}, headers=headers).status_code == 201
    other = api.post("/api/v1/members", json={"phone": "+13125550152"}, headers=headers)
    assert other.status_code == 409
    assert other.get_json()["error"]["code"] == "conflict"
    assert _count(db, church, "+13125550152") == 0


def test_an_error_answer_is_replayed_too(api):
    headers = {"Idempotency-Key": "bad-1"}
    first = api.post("/api/v1/members", json={"phone": "12"}, headers=headers)
    assert first.status_code == 422
    again = api.post("/api/v1/members", json={"phone": "12"}, headers=headers)
    assert (again.status_code, again.get_json()) == (422, first.get_json())


def test_a_request_in_progress_answers_409(api, db, church):
    # What a second, concurrent request finds: the first one's claim, not yet its answer.
    body = {"phone": "+13125550153"}
    api.post("/api/v1/members", json=body, headers={"Idempotency-Key": "racing-0"})  # learn the fingerprint
    key_id = db.session.scalar(select(ApiKey.id).where(ApiKey.church_id == church.id))
    done = json.loads(rds.client.get(redis_key(key_id, "racing-0")))
    claim = {"state": "pending", "fingerprint": done["fingerprint"]}
    rds.client.set(redis_key(key_id, "racing-1"), json.dumps(claim))
    response = api.post("/api/v1/members", json=body, headers={"Idempotency-Key": "racing-1"})
    assert response.status_code == 409
    assert "in progress" in response.get_json()["error"]["message"]


def test_keys_are_kept_per_api_key(api_as, db, church):
    body = {"phone": "+13125550154"}
    headers = {"Idempotency-Key": "shared"}
    assert api_as().post("/api/v1/members", json=body, headers=headers).status_code == 201
    # Another key, the same Idempotency-Key: its own request (here a 409 for the taken number).
    assert api_as().post("/api/v1/members", json=body, headers=headers).status_code == 409


def test_the_rate_limit_answers_429_with_headers(api):
    for _ in range(20):
        response = api.get("/api/v1/groups")
        assert response.status_code == 200
    assert response.headers["RateLimit-Policy"] == '"burst";q=20;w=10, "minute";q=100;w=60'
    assert response.headers["RateLimit"].startswith('"burst";r=0;t=')
    limited = api.get("/api/v1/groups")
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "too_many_requests"
    assert int(limited.headers["Retry-After"]) >= 0
    assert "RateLimit" in limited.headers and "RateLimit-Policy" in limited.headers


def test_each_key_has_its_own_limit(api_as):
    first, second = api_as(), api_as()
    for _ in range(21):
        last = first.get("/api/v1/groups")
    assert last.status_code == 429
    assert second.get("/api/v1/groups").status_code == 200
