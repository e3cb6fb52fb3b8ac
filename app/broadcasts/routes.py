"""Broadcasts."""

from flask import render_template

from app.auth.decorators import STAFF, role_required
from app.broadcasts import bp


@bp.get("/broadcasts")
@role_required(*STAFF)
def index():
    """The broadcast list."""
    return render_template("placeholder.html", title="Broadcasts")
