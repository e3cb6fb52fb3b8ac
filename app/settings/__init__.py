from flask import Blueprint

bp = Blueprint("settings", __name__)

# Each of these declares its views on bp; Settings → Join keywords lives with the keyword logic.
from app.keywords import routes as keyword_routes  # noqa: E402,F401
from app.settings import routes  # noqa: E402,F401
