"""Fields the custom-field tests share: a church with a campus (choice), a birthday (date),
a shirt size (text) and a number of children (number)."""

from __future__ import annotations

import pytest

from app.people import custom_fields as cf


@pytest.fixture
def fields(db, church):
    """church's fields by key: campus, birthday, shirt, kids."""
    made = {
        "campus": cf.create_field(church.id, name="Campus", key="campus", type="choice", choices=["North", "South"]),
        "birthday": cf.create_field(church.id, name="Birthday", key="birthday", type="date", choices=[]),
        "shirt": cf.create_field(church.id, name="Shirt size", key="shirt", type="text", choices=[]),
        "kids": cf.create_field(church.id, name="Children", key="kids", type="number", choices=[]),
    }
    db.session.flush()
    return {key: cf.field_by_key(church.id, key) for key in made}
