"""Failed texts, broadcast recipients and inbox replies alike: why each failed, and a retry where it helps."""

from flask import Blueprint

bp = Blueprint("failures", __name__)

# Declares its views on bp.
from app.failures import routes  # noqa: E402,F401
