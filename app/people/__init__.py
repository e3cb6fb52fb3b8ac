from flask import Blueprint

bp = Blueprint("people", __name__)

from app.people import imports, routes  # noqa: E402,F401
