from flask import Blueprint

bp = Blueprint("people", __name__)

from app.people import routes  # noqa: E402,F401
from app.people.imports import routes as import_routes  # noqa: E402,F401
