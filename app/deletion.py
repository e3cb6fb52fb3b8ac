"""Deleting from a page: ask first (a GET that shows "are you sure?"), then delete on the POST;
or, for what can be put back, act at once and offer an Undo button in the flash.

The confirmation is a page of its own, not a script dialog, so it works without JavaScript; the
Undo button is a small form (POST with the CSRF token) for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from app.extensions import db


def ask_then_delete(
    delete: Callable[[], object], *, message: str, done: str, template: str, **context
) -> ResponseReturnValue:
    """GET renders the `template` that asks; POST calls `delete`, then `deleted(message, done)`."""
    if request.method == "POST":
        delete()
        return deleted(message, done)
    return render_template(template, **context)


def undo_notice(text: str, action: str, **fields: str) -> dict:
    """A flash message with an Undo button: `fields` are posted to `action` to put things back."""
    return {"text": text, "undo": action, "fields": {k: str(v) for k, v in fields.items()}}


def flash_undo(text: str, action: str, **fields: str) -> None:
    """Flash `text` with an Undo button (rendered by includes/flashes.html)."""
    flash(undo_notice(text, action, **fields), "undo")


def deleted(message: str, done: str) -> Response:
    """Commit what was just deleted, flash `message` and redirect to `done` (the list it was on)."""
    db.session.commit()
    flash(message, "success")
    return redirect(done)
