"""Plans and billing."""

from flask import render_template

from app.auth.decorators import OWNERS, role_required
from app.billing import bp


@bp.get("/billing")
@role_required(*OWNERS)
def index():
    """Plan, usage and invoices."""
    return render_template("placeholder.html", title="Billing")
