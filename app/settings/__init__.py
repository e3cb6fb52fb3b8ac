from flask import Blueprint

bp = Blueprint("settings", __name__)

from app.settings import api_key_routes, audit_routes, custom_field_routes, routes  # noqa: E402,F401
