"""Connect card helpers: an open card for Grace, the form's token, a post as a phone would send it."""

from __future__ import annotations

import re

import pytest

from app.models import ConnectCard, Group
from tests.integration.inbox.conftest import simulator  # noqa: F401 - the fixture, shared

SLUG = "grace-community-church"
CARD = f"/c/{SLUG}"
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


@pytest.fixture
def groups(db, church):
    made = [Group(church_id=church.id, name=name) for name in ("Card Youth", "Card Choir", "Card Hidden")]
    db.session.add_all(made)
    db.session.flush()
    return made


@pytest.fixture
def card(db, church, groups):
    row = ConnectCard(
        church_id=church.id,
        enabled=True,
        intro="We'd love to meet you.",
        questions=["How did you hear about us?"],
        group_ids=[groups[0].id, groups[1].id],
        frequency="Up to 4 msgs/month",
        allowed_origins=["https://www.gracechurch.example"],
    )
    db.session.add(row)
    db.session.commit()
    return row


def token_of(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "the card has no csrf_token field"
    return match.group(1) or match.group(2)


def card_data(client, **fields) -> dict:
    """A filled card (consent ticked) with a fresh token from the page."""
    token = token_of(client.get(CARD).get_data(as_text=True))
    data = {
        "csrf_token": token,
        "first_name": "Ruth",
        "last_name": "Moab",
        "phone": "(312) 555-0177",
        "email": "ruth@example.org",
        "answer_0": "A friend",
        "consent": "y",
        "website": "",
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}
