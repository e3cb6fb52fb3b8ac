from flask import Blueprint

bp = Blueprint("broadcasts", __name__)

# Each of these declares its views on bp (the /templates pages too).
from app.broadcasts import control_routes, routes, templates_routes  # noqa: E402,F401
