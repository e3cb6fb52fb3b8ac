"""Churches and users created from the command line: `create-church`, `create-admin`, `seed-demo`.

Shared by app.cli and app.seed, which used to import each other for these helpers.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import click
from sqlalchemy import select

from app.auth.services import find_user_by_email, hash_password, verify_password
from app.extensions import db
from app.models import Church, User
from app.models.base import escape_like


def slugify(name: str) -> str:
    """A church's URL slug from its name."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:100] or "church"


def get_or_create_church(name: str, timezone: str = "America/Chicago") -> Church:
    """The church with this name's slug, created when there is none (flushed, not committed)."""
    slug = slugify(name)
    church = db.session.scalar(select(Church).where(Church.slug == slug))
    if church is None:
        # Set up by an operator, who needs no onboarding checklist.
        church = Church(name=name, slug=slug, timezone=timezone, onboarded_at=datetime.now(UTC))
        db.session.add(church)
        db.session.flush()
    return church


def new_church(name: str, timezone: str) -> Church:
    """A church made by sign-up, under a slug no other church has (flushed, not committed)."""
    base = slugify(name)[:90]
    taken = set(db.session.scalars(select(Church.slug).where(Church.slug.like(f"{escape_like(base)}%", escape="\\"))))
    slug = (
        base
        if base not in taken
        else next(f"{base}-{n}" for n in range(2, len(taken) + 3) if f"{base}-{n}" not in taken)
    )
    church = Church(name=name, slug=slug, timezone=timezone)
    db.session.add(church)
    db.session.flush()
    return church


def upsert_user(church: Church, email: str, password: str, role: str, name: str | None = None) -> User:
    """Create the user, or bring an existing one (same email) in line with the arguments."""
    user = find_user_by_email(email)
    if user is None:
        # An operator vouches for the address they type.
        user = User(church_id=church.id, email=email.lower(), role=role, name=name, email_verified_at=datetime.now(UTC))
        user.password_hash = hash_password(password)
        db.session.add(user)
    elif user.church_id != church.id:
        raise click.ClickException(f"{email} already belongs to another church")
    else:
        user.role = role
        if not verify_password(user.password_hash, password):
            user.password_hash = hash_password(password)
    db.session.flush()
    return user
