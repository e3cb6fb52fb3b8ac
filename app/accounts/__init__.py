"""Accounts: sign-up with a verified email, forgotten passwords, the signed-in person's own page, staff."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from app.accounts import routes, staff_routes  # noqa: E402,F401
