from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.auth import routes, sessions_routes  # noqa: E402,F401
from app.auth.two_factor import account_routes, signin_routes  # noqa: E402,F401
