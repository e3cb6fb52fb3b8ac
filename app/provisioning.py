"""Churches and users created from the command line: `create-church`, `create-admin`, `seed-demo`.

Shared by app.cli and app.seed, which used to import each other for these helpers.
"""

from __future__ import annotations

import re

import click
from sqlalchemy import select

from app import audit
from app.auth.services import find_user_by_email, hash_password, verify_password
from app.extensions import db
from app.models import Church, User


def slugify(name: str) -> str:
    """A church's URL slug from its name."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:100] or "church"


def get_or_create_church(name: str, timezone: str = "America/Chicago") -> Church:
    """The church with this name's slug, created when there is none (flushed, not committed)."""
    slug = slugify(name)
    church = db.session.scalar(select(Church).where(Church.slug == slug))
    if church is None:
        church = Church(name=name, slug=slug, timezone=timezone)
        db.session.add(church)
        db.session.flush()
    return church


def upsert_user(church: Church, email: str, password: str, role: str, name: str | None = None) -> User:
    """Create the user, or bring an existing one (same email) in line with the arguments."""
    user = find_user_by_email(email)
    if user is None:
        user = User(church_id=church.id, email=email.lower(), role=role, name=name)
        user.password_hash = hash_password(password)
        db.session.add(user)
    elif user.church_id != church.id:
        raise click.ClickException(f"{email} already belongs to another church")
    else:
        if user.role != role:
            detail = {"from": user.role, "to": role, "by": "command line"}
            audit.record("staff.role_changed", target=user, church_id=church.id, detail=detail)
        user.role = role
        if not verify_password(user.password_hash, password):
            user.password_hash = hash_password(password)
    db.session.flush()
    return user
