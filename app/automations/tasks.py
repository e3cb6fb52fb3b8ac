"""The scheduler's job and the command line: run due steps; in development, move time forward.

`run_due_job` is a periodic entry (app.periodic). `flask automations advance --hours 24` (or,
in development, the "Move time forward" buttons on a workflow's page) moves every active
enrollment's due time that much earlier and runs what became due, which is how someone
watching `make dev` sees step two of a series without waiting two days. It shifts due
times, not the clock, and refuses outside development and test.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import click
from flask import current_app
from sqlalchemy import text

from app.automations import bp
from app.automations.engine import run_due
from app.extensions import db

log = logging.getLogger(__name__)

ADVANCE_ENVIRONMENTS = ("development", "test")


def run_due_job() -> int:
    """Periodic: one pass over due automation steps at the current time."""
    handled = run_due(datetime.now(UTC))
    if handled:
        log.info("automation steps run", extra={"enrollments": handled})
    return handled


def advance_allowed() -> bool:
    """Whether time may be moved here: development and test only."""
    return current_app.config["KOINONIA_ENV"] in ADVANCE_ENVIRONMENTS


def advance(by: timedelta, church_id: int | None = None, workflow_id: int | None = None) -> int:
    """Move active enrollments' due times `by` earlier (development only); returns how many moved."""
    result = db.session.execute(
        text(
            "UPDATE workflow_enrollments SET due_at = due_at - make_interval(secs => :secs) "
            "WHERE status = 'active' AND (CAST(:church_id AS bigint) IS NULL OR church_id = :church_id) "
            "AND (CAST(:workflow_id AS bigint) IS NULL OR workflow_id = :workflow_id)"
        ),
        {"secs": by.total_seconds(), "church_id": church_id, "workflow_id": workflow_id},
    )
    return result.rowcount or 0


@bp.cli.command("run")
def run_command() -> None:
    """Run every automation step that is due now."""
    click.echo(f"{run_due(datetime.now(UTC))} enrollment(s) handled")


@bp.cli.command("advance")
@click.option("--hours", type=click.IntRange(0, 24 * 366), default=0)
@click.option("--days", type=click.IntRange(0, 366), default=0)
@click.option("--church", "church_id", type=int, default=None, help="Only this church's enrollments (its id).")
def advance_command(hours: int, days: int, church_id: int | None) -> None:
    """Development: act as if this much time had passed for enrolled people, then run what is due."""
    if not advance_allowed():
        raise click.ClickException("advance only runs with KOINONIA_ENV=development or test.")
    by = timedelta(days=days, hours=hours)
    if not by:
        raise click.ClickException("Say how far: --hours N and/or --days N.")
    moved = advance(by, church_id)
    db.session.commit()
    handled = run_due(datetime.now(UTC))
    click.echo(f"Moved {moved} enrollment(s) {by} ahead; {handled} handled now.")
