from flask import Blueprint

bp = Blueprint("api", __name__)

from app.api import health, metrics, stripe_webhooks, webhooks  # noqa: E402,F401
