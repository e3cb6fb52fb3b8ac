"""Tenant isolation: every route that takes an id answers 404/403 for another church's ids.

The walk reads the live URL map, so routes added later are covered without editing this
file; a route whose id parameter is not registered in app.tenancy.ID_PARAMS fails it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.tenancy import ID_PARAMS
from tests.tenant_rows import ensure_row


def _id_rules(app):
    for rule in app.url_map.iter_rules():
        id_args = [a for a in rule.arguments if a.endswith("_id") or a == "id"]
        if id_args:
            yield rule, id_args


def test_every_id_parameter_is_registered(app):
    unknown = {(r.rule, a) for r, args in _id_rules(app) for a in args if a not in ID_PARAMS}
    assert not unknown, f"register these id parameters in app.tenancy.ID_PARAMS: {sorted(unknown)}"


def _hope_api_key(db) -> str:
    """A key of Hope Chapel holding every scope: the API is walked with it, as pages are with a session."""
    from app.api.v1.keys import create_key
    from app.auth.services import find_user_by_email
    from app.models.api_keys import API_SCOPES

    made = create_key(find_user_by_email("admin@hope.example.org"), "Isolation walk", list(API_SCOPES))
    db.session.commit()
    return made.secret


def test_other_churches_ids_are_not_found(app, client, db, church, other_church, login_as):
    login_as("hope")  # signed in to Hope Chapel, trying Grace's ids
    api_headers = {"HX-Request": "true", "Authorization": f"Bearer {_hope_api_key(db)}"}
    rules = list(_id_rules(app))
    assert rules, "no routes with ids yet"
    ids = {param: ensure_row(model, church) for param, model in ID_PARAMS.items()}
    checked = 0
    for rule, args in rules:
        values = {a: ids[a] for a in args}
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if path.startswith("/api/v1/"):
                # A key reads only its own church: another's id is not found, never forbidden.
                response = client.open(path, method=method, headers=api_headers, json={})
                assert response.status_code == 404, f"{method} {path} answered {response.status_code}"
            else:
                response = client.open(path, method=method, headers={"HX-Request": "true"})
                assert response.status_code in (403, 404), f"{method} {path} answered {response.status_code}"
            checked += 1
    assert checked


@pytest.mark.parametrize("param", sorted(ID_PARAMS))
def test_helpers_find_own_rows(db, church, login_as, param, app):
    from app.tenancy import get_or_404

    login_as("owner")
    model = ID_PARAMS[param]
    row_id = ensure_row(model, church)
    with app.test_request_context():
        from flask_login import login_user

        from app.auth.services import find_user_by_email

        login_user(find_user_by_email("admin@example.org"))
        assert get_or_404(model, row_id).id == row_id
        assert db.session.scalar(select(model.church_id).where(model.id == row_id)) == church.id


def test_an_id_past_bigint_is_not_found(app, client, db, login_as):
    login_as("owner")  # a lookup by such an id was a 500 (bigint out of range)
    for rule, args in _id_rules(app):
        path = rule.build({a: 1 for a in args}, append_unknown=False)[1].replace("/1", "/" + "9" * 25)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, headers={"HX-Request": "true"})
            assert response.status_code == 404, f"{method} {path} answered {response.status_code}"
