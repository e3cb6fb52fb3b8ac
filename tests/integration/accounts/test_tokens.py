"""One-time tokens: only a hash is stored, they expire, and each is used once."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from app.accounts import tokens
from app.auth.services import find_user_by_email


def test_only_the_hash_of_a_token_is_stored(db):
    user = find_user_by_email("admin@example.org")
    token = tokens.issue(tokens.PASSWORD_RESET, user.email, user=user)
    row = db.session.execute(text("SELECT * FROM account_tokens")).mappings().one()
    assert bytes(row["token_hash"]) == hashlib.sha256(token.encode()).digest()
    assert token not in repr(dict(row))
    assert row["user_id"] == user.id and row["church_id"] == user.church_id


def test_a_token_is_used_once(db):
    user = find_user_by_email("admin@example.org")
    token = tokens.issue(tokens.PASSWORD_RESET, user.email, user=user)
    assert tokens.peek(tokens.PASSWORD_RESET, token) is not None
    assert tokens.spend(tokens.PASSWORD_RESET, token).user_id == user.id
    assert tokens.spend(tokens.PASSWORD_RESET, token) is None
    assert tokens.peek(tokens.PASSWORD_RESET, token) is None


def test_a_reset_token_expires_after_an_hour(db):
    user = find_user_by_email("admin@example.org")
    fresh = tokens.issue(tokens.PASSWORD_RESET, user.email, user=user, now=datetime.now(UTC) - timedelta(minutes=55))
    stale = tokens.issue(tokens.PASSWORD_RESET, user.email, user=user, now=datetime.now(UTC) - timedelta(minutes=61))
    assert tokens.peek(tokens.PASSWORD_RESET, fresh) is not None
    assert tokens.peek(tokens.PASSWORD_RESET, stale) is None
    assert tokens.spend(tokens.PASSWORD_RESET, stale) is None


def test_a_token_opens_only_its_own_purpose(db):
    token = tokens.issue(tokens.SIGNUP, "new@example.org", payload={"church_name": "X"})
    assert tokens.spend(tokens.PASSWORD_RESET, token) is None
    assert tokens.spend(tokens.SIGNUP, token) is not None


def test_unknown_and_oversized_tokens_open_nothing(db):
    assert tokens.spend(tokens.PASSWORD_RESET, "nope") is None
    assert tokens.peek(tokens.PASSWORD_RESET, "x" * 10_000) is None


def test_tokens_are_forgotten_a_week_after_they_expire(db):
    from app.accounts.tasks import purge_old_tokens

    long_gone = datetime.now(UTC) - timedelta(days=10)
    tokens.issue(tokens.SIGNUP, "old@example.org", payload={"password_hash": "x"}, now=long_gone)
    kept = tokens.issue(tokens.SIGNUP, "new@example.org", payload={"password_hash": "y"})
    assert purge_old_tokens() == 1
    assert tokens.peek(tokens.SIGNUP, kept) is not None
