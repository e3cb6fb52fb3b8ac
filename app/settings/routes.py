"""Church settings."""

from flask import render_template

from app.auth.decorators import ADMINS, role_required
from app.settings import bp


@bp.get("/settings")
@role_required(*ADMINS)
def index():
    """Church settings."""
    return render_template("placeholder.html", title="Settings")
