from flask import Blueprint

bp = Blueprint("inbox", __name__)

from app.inbox import routes, templating  # noqa: E402,F401
