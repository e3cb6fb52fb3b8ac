"""A Planning Center personal access token, sealed at rest (app.security.sealing) and never shown back."""

from __future__ import annotations

import json

from app.security.sealing import open_sealed, seal

PURPOSE = "pco-token"


def seal_credentials(app_id: str, secret: str) -> str:
    """The application id and secret, sealed for the database."""
    return seal(json.dumps({"app_id": app_id, "secret": secret}), PURPOSE)


def open_credentials(sealed: str) -> tuple[str, str] | None:
    """(application id, secret), or None when SECRET_KEY changed since they were sealed."""
    opened = open_sealed(sealed, PURPOSE)
    if opened is None:
        return None
    value = json.loads(opened)
    return value["app_id"], value["secret"]
