"""Recovery codes: ten random single-use codes, shown once and stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets

COUNT = 10
# No 0/O, 1/I/L: the codes are read off paper and typed by hand.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GROUPS, GROUP_LENGTH = 3, 4


def generate() -> list[str]:
    """`COUNT` fresh codes like "7kqm-xr2p-c9wd" (about 59 bits each)."""
    return ["-".join(_group() for _ in range(GROUPS)) for _ in range(COUNT)]


def _group() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH))


def normalize(code: str) -> str:
    """The code as typed, bounded, lower-cased and without spaces or dashes."""
    return "".join(ch for ch in (code or "")[:64].lower() if ch.isalnum())


def looks_like_code(code: str) -> bool:
    """Whether `code` has a recovery code's shape (told apart from a 6-digit app code)."""
    return len(normalize(code)) == GROUPS * GROUP_LENGTH


def hash_code(code: str) -> str:
    """The stored form of a code. A fast hash is enough: the codes are random, not chosen by people,
    so there is no dictionary to try, and 59 bits take years to search even at GPU speed."""
    return hashlib.sha256(normalize(code).encode()).hexdigest()
