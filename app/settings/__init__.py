from flask import Blueprint

bp = Blueprint("settings", __name__)

from app.settings import (  # noqa: E402,F401
    api_key_routes,
    audit_routes,
    custom_field_routes,
    routes,
    webhook_routes,
)
