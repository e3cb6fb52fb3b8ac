"""Notifications for staff: their choices, mail about unread threads, Web Push to their devices."""

from flask import Blueprint

bp = Blueprint("notifications", __name__)

# Declares its views on bp.
from app.notifications import routes  # noqa: E402,F401
