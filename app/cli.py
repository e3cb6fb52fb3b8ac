"""Command-line tools: `flask --app wsgi <command>`."""

from __future__ import annotations

import secrets

import click
from flask import Flask
from sqlalchemy import func, select

from app.api.v1.keys import create_key
from app.dead_letters import replay_pending
from app.errors import ValidationError
from app.extensions import db
from app.models import Church, User
from app.models.api_keys import API_SCOPES
from app.provisioning import get_or_create_church, upsert_user
from app.security.passwords import password_problem
from app.seed import seed_demo
from app.stats import rebuild


def register_cli(app: Flask) -> None:
    """Attach the project's CLI commands to the app."""

    @app.cli.command("create-church")
    @click.option("--name", required=True, help="The church's name.")
    @click.option("--admin-email", required=True, help="Email of the church's owner.")
    @click.option("--password", help="Owner's password (generated and printed when omitted).")
    @click.option("--timezone", default="America/Chicago", show_default=True)
    def create_church(name: str, admin_email: str, password: str | None, timezone: str) -> None:
        """Create a church and its owner account (idempotent)."""
        generated = password is None
        password = password or secrets.token_urlsafe(12)
        problem = password_problem(password)
        if problem:
            raise click.ClickException(f"Password refused: {problem}")
        church = get_or_create_church(name, timezone)
        upsert_user(church, admin_email, password, "owner")
        db.session.commit()
        click.echo(f"Church {church.name!r} (id {church.id}); owner {admin_email}")
        if generated:
            click.echo(f"Generated password: {password}")

    @app.cli.command("create-admin")
    @click.option("--email", required=True)
    @click.option("--church", "church_ref", required=True, help="Church slug or id.")
    @click.option("--role", type=click.Choice(["owner", "admin", "leader"]), default="admin", show_default=True)
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option("--name", default=None)
    def create_admin(email: str, church_ref: str, role: str, password: str, name: str | None) -> None:
        """Create (or update) a user of an existing church."""
        query = (
            select(Church).where(Church.id == int(church_ref))
            if church_ref.isdigit()
            else select(Church).where(Church.slug == church_ref)
        )
        church = db.session.scalar(query)
        if church is None:
            raise click.ClickException(f"No church {church_ref!r}")
        problem = password_problem(password)
        if problem:
            raise click.ClickException(f"Password refused: {problem}")
        upsert_user(church, email, password, role, name)
        db.session.commit()
        click.echo(f"{role} {email} in {church.name}")

    @app.cli.command("create-api-key")
    @click.option("--email", required=True, help="The church owner the key is made by (audited as theirs).")
    @click.option("--name", required=True, help="What will use the key.")
    @click.option("--scopes", default="read", show_default=True, help="Comma-separated: " + ", ".join(API_SCOPES))
    def create_api_key(email: str, name: str, scopes: str) -> None:
        """Make an API key for the owner's church and print it (once: only its hash is kept)."""
        owner = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
        if owner is None or owner.role != "owner" or not owner.active:
            raise click.ClickException(f"{email} is not an active church owner")
        try:
            made = create_key(owner, name, [s.strip() for s in scopes.split(",") if s.strip()])
        except ValidationError as exc:
            raise click.ClickException(f"{exc.message} {exc.details}") from exc
        db.session.commit()
        click.echo(made.secret)

    @app.cli.command("seed-demo")
    @click.option("--members", "member_count", default=60, show_default=True, type=click.IntRange(0, 8999))
    def seed_demo_command(member_count: int) -> None:
        """Create the demo churches, users, groups and members (idempotent)."""
        summary = seed_demo(member_count)
        db.session.commit()
        click.echo(summary)

    @app.cli.command("replay-dead-letters")
    @click.option("--church", "church_id", type=int, default=None, help="Only this church's dead letters.")
    def replay_dead_letters_command(church_id: int | None) -> None:
        """Replay every dead letter not replayed yet (sends only what never reached the provider)."""
        results = replay_pending(church_id)
        for letter_id, outcome in results:
            click.echo(f"dead letter {letter_id}: {outcome}")
        click.echo(f"{len(results)} dead letter(s) replayed")

    @app.cli.command("rebuild-stats")
    @click.option("--church", "church_id", type=int, default=None, help="One church's id (default: every church).")
    def rebuild_stats_command(church_id: int | None) -> None:
        """Recompute daily_stats and member counts from the raw rows (one transaction per church)."""
        ids = [church_id] if church_id else db.session.scalars(select(Church.id).order_by(Church.id)).all()
        for cid in ids:
            days = rebuild(cid)
            db.session.commit()
            click.echo(f"church {cid}: {days} days rebuilt")
