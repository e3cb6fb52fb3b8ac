from flask import Blueprint

bp = Blueprint("api", __name__)

from app.api import health_routes, metrics_routes, stripe_routes, telnyx_routes  # noqa: E402,F401
