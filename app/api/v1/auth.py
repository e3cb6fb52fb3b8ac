"""Who is calling /api/v1: the bearer key, its church, its scopes, and the ids it may name.

`blueprint()` makes an API blueprint with these checks installed before every view, so a view
cannot forget one: a view declares its scope with `@requires("read")` and finds `g.api_actor`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import current_app, g, request
from flask_smorest import Blueprint
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from app.api.v1 import idempotency, ratelimit
from app.api.v1.keys import find_key, touch
from app.errors import AppError, AuthError, NotFound, PermissionDenied, ValidationError, json_error
from app.extensions import db
from app.models import Church
from app.models.api_keys import ApiKey
from app.tenancy import ID_PARAMS

MAX_BODY = 256 * 1024  # a bulk list of 1,000 ids is under 25 KB


@dataclass(frozen=True)
class ApiActor:
    """An API key acting for its church where the services expect a user: an admin with no login.

    Services check `is_admin` and `church_id`, and record `id` (None: no person) and `display_name`
    in the audit log and the consent ledger.
    """

    key: ApiKey
    church: Church
    id: None = None
    is_admin: bool = True
    is_leader: bool = False
    is_owner: bool = False

    @property
    def church_id(self) -> int:
        return self.church.id

    @property
    def display_name(self) -> str:
        return f"API key “{self.key.name}” ({self.key.prefix}…)"


def requires(scope: str) -> Callable:
    """Declare the scope a view needs (checked before the view, with the key; see `_authenticate`)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            return view(*args, **kwargs)

        wrapped.api_scope = scope
        return wrapped

    return decorator


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _authenticate() -> None:
    # Far less than the app's limit (sized for CSV uploads): refused before any JSON is parsed.
    if (request.content_length or 0) > MAX_BODY:
        raise RequestEntityTooLarge(f"An API request body may be at most {MAX_BODY // 1024} KB.")
    token = _bearer()
    if token is None:
        raise AuthError("Send an API key: Authorization: Bearer kn_live_…")
    key = find_key(token)
    if key is None:
        raise AuthError("This API key is unknown, revoked or expired.")
    scope = _scope_of_view()
    if scope is None or scope not in key.scopes:
        raise PermissionDenied(f"This key lacks the “{scope}” scope.", details={"scope": scope})
    if touch(key):
        db.session.commit()
    g.api_actor = ApiActor(key=key, church=db.session.get(Church, key.church_id))
    _own_path_ids(key.church_id)


def _scope_of_view() -> str | None:
    """The scope `@requires` gave the view (a method of a MethodView, or a function)."""
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        view = getattr(view_class, request.method.lower(), None)
    return getattr(view, "api_scope", None)


def _own_path_ids(church_id: int) -> None:
    """Every id in the path must be a row of the key's church: 404 otherwise, before any work."""
    for name, value in (request.view_args or {}).items():
        model = ID_PARAMS.get(name)
        if model is None:
            continue
        found = db.session.scalar(select(model.id).where(model.id == value, model.church_id == church_id))
        if found is None:
            raise NotFound("No such resource.")


def _nul_fields(value, path: str = "") -> list[str]:
    """Where a JSON body holds a NUL character (PostgreSQL text cannot store one)."""
    if isinstance(value, str):
        return [path or "body"] if "\x00" in value else []
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _nul_fields(item, f"{path}.{key}".lstrip("."))]
    if isinstance(value, list):
        return [found for item in value for found in _nul_fields(item, path)]
    return []


def refuse_nul() -> None:
    """422 for a JSON body with a NUL character anywhere, before a view tries to store it."""
    if not request.is_json or b"\\u0000" not in request.get_data(cache=True):
        return
    fields = _nul_fields(request.get_json(silent=True))
    if fields:
        raise ValidationError(
            "Some fields need fixing.", details={name: ["Contains a NUL character."] for name in fields[:20]}
        )


def blueprint(name: str, description: str) -> Blueprint:
    """An API blueprint: key, scope and ids checked, POSTs idempotent, the key's rate limit applied."""
    blp = Blueprint(name, __name__, description=description)
    blp.before_request(_authenticate)
    blp.before_request(refuse_nul)
    blp.before_request(idempotency.claim)
    blp.after_request(idempotency.store)
    blp.after_request(ratelimit.ietf_headers)
    blp.register_error_handler(422, unprocessable)
    blp.register_error_handler(AppError, refused)
    ratelimit.apply(blp)
    return blp


def refused(err: AppError):
    """A service said no: nothing of the request is kept, then the usual envelope."""
    db.session.rollback()
    return json_error(err.status, err.code, err.message, err.details)


def unprocessable(err):
    """webargs' 422, in the envelope: `details` maps each field to its messages."""
    messages = getattr(err, "data", {}).get("messages", {})
    details: dict = {}
    for fields in messages.values():  # keyed by location (json, query); one schema per location
        details.update(fields)
    return json_error(422, "validation_error", "Some fields need fixing.", details)


def actor() -> ApiActor:
    return g.api_actor
