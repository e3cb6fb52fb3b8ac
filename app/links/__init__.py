"""Tracked links: `/l/<code>` (public) answers a 302 to the stored link and counts the click later."""

from flask import Blueprint

bp = Blueprint("links", __name__)

from app.links import routes  # noqa: E402,F401 - registers the routes
