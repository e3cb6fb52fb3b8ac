"""The password rule, applied wherever a password is set (sign-up, reset, change, the CLI).

At least MIN_LENGTH characters and not one of the common passwords in common_passwords.txt
(its header names the source). Length beats composition rules (NIST SP 800-63B, 5.1.1.2);
the list catches the long passwords attackers try first ("qwertyuiop", "password123").
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

MIN_LENGTH = 10
MAX_LENGTH = 200  # argon2 hashes any length; this bounds the work one form post can ask for
COMMON_FILE = Path(__file__).with_name("common_passwords.txt")


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list, lower-cased (read once per process)."""
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str) -> str | None:
    """Why `password` may not be used, or None when it may."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if password.strip().lower() in common_passwords():
        return "That password is one of the most common ones, so it is guessed first. Choose another."
    return None
