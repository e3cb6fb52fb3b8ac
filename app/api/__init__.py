from flask import Blueprint

bp = Blueprint("api", __name__)

from app.api import health, metrics  # noqa: E402,F401
