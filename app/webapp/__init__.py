"""The installable app: web manifest, service worker and offline page, so Koinonia sits on a home screen."""

from flask import Blueprint

bp = Blueprint("webapp", __name__)

# Declares its views on bp.
from app.webapp import routes  # noqa: E402,F401
