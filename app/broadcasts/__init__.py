from flask import Blueprint

bp = Blueprint("broadcasts", __name__)

from app.broadcasts import routes  # noqa: E402,F401
