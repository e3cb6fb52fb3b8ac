from flask import Blueprint

bp = Blueprint("settings", __name__)

from app.settings import audit_routes, routes  # noqa: E402,F401
