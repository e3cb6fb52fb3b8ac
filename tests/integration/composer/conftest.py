import pytest
from sqlalchemy import select

from app.models import Group


@pytest.fixture
def youth(db, church):
    return db.session.scalar(select(Group).where(Group.church_id == church.id, Group.name == "Youth"))


@pytest.fixture
def compose(youth):
    """Form data for the composer, to Youth by default."""

    def _compose(**overrides):
        data = {
            "body": "Grace: youth night Friday at 7, {first_name|friend}!",
            "group_ids": [str(youth.id)],
            "when": "now",
            "idempotency_key": "key-1",
            "repeat_freq": "weekly",
        }
        data.update(overrides)
        return data

    return _compose
