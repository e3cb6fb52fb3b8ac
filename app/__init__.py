"""Koinonia: texting for churches. `create_app()` builds the Flask application."""

from __future__ import annotations

import random
import time
from importlib import import_module

from flask import Flask, abort, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from app.cache import registry as cache_registry  # noqa: F401 - its session listeners move cached values
from app.config import Config
from app.errors import register_error_handlers
from app.extensions import csrf, db, limiter, login_manager, migrate, rds
from app.form_errors import error_summary
from app.htmx import add_vary_header
from app.logging import configure_logging
from app.navigation import nav_items
from app.replicas import init_app as init_replicas
from app.security.headers import CSP
from app.security.inputs import IdConverter, carries_nul

# The domains, imported by create_app() and never at the top of this module: every app.* module
# is imported through this package, so a domain imported here would have the two import each other
# (auth -> `from app import cache` -> app, still half-built). The CLI, metrics and the login loader
# reach domains too, so each is imported inside the function that wires it, for the same reason.
BLUEPRINTS = (
    "app.auth",
    "app.accounts",
    "app.dashboard",
    "app.people",
    "app.broadcasts",
    "app.inbox",
    "app.billing",
    "app.settings",
    "app.keywords",
    "app.connect",
    "app.integrations",
    "app.automations",
    "app.ops",
    "app.notifications",
    "app.webapp",
    "app.failures",
    "app.links",
    "app.api",
)

# Machine endpoints: no cookie session (and so no user loading) is opened for them.
SESSIONLESS_PREFIXES = ("/webhooks/", "/health")
# The REST API authenticates by bearer key alone: no cookie session either, but rate limited.
API_PREFIX = "/api/v1/"


@limiter.request_filter
def _machine_request() -> bool:
    """Webhooks and health checks are all exempt (providers and load balancers must never be
    throttled); saying so here skips Flask-Limiter's limit resolution for them, which on the
    webhook path was a tenth of the request's CPU."""
    return request.path.startswith(SESSIONLESS_PREFIXES)


class MachineAwareSessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, skipped for webhooks and health checks, which never use it."""

    def open_session(self, app, request):
        if request.path.startswith(SESSIONLESS_PREFIXES) or request.path.startswith(API_PREFIX):
            return self.null_session_class()
        return super().open_session(app, request)


def create_app(config_class: type[Config] = Config) -> Flask:
    """Build the app: config, logging, extensions, blueprints, error handlers, CLI."""
    # Reaches the auth domain (through provisioning): loaded here, as BLUEPRINTS are.
    from app.cli import register_cli

    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    # Before any route is added: rules look their converters up when they are registered.
    app.url_map.converters["int"] = IdConverter
    app.config.from_object(config_class())
    app.session_interface = MachineAwareSessionInterface()
    configure_logging(app)
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        # Behind that many proxies, the address they saw is the client's (rate limits key on it).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=1, x_host=1)

    db.init_app(app)
    init_replicas(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    rds.init_app(app)
    _configure_login(app)

    for name in BLUEPRINTS:
        app.register_blueprint(import_module(name).bp)
    # flask-smorest registers its own blueprints (and the OpenAPI document) on the app.
    import_module("app.api.v1").init_api(app)
    register_error_handlers(app)
    register_cli(app)
    _install_request_hooks(app)
    _install_observability(app)
    return app


def _install_observability(app: Flask) -> None:
    # Reaches the inbox domain (through webhook_processor): loaded here, as BLUEPRINTS are.
    from app.metrics import init_metrics, install_slow_query_log

    init_metrics(app)
    with app.app_context():
        install_slow_query_log(db.engine, app.config["SLOW_QUERY_MS"])


def _configure_login(app: Flask) -> None:
    # Runs app/auth/__init__ and its routes: loaded here, as BLUEPRINTS are.
    from app.auth import sessions
    from app.auth.identity import load_signed_in

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    # "basic": "strong" would sign out phone users whenever their IP changes.
    login_manager.session_protection = "basic"

    # The id is "<id>:<version>:<session key>", in the session and the remember-me cookie alike.
    login_manager.user_loader(load_signed_in)
    sessions.init_app(app)


def _install_request_hooks(app: Flask) -> None:
    @app.before_request
    def start_request() -> None:
        # Correlation only, not a secret: no urandom system call per request.
        g.request_id = request.headers.get("X-Request-ID") or f"{random.getrandbits(64):016x}"
        g.request_started = time.perf_counter()
        # Webhooks verify their raw bodies; reading them as a form here would consume them.
        if not request.path.startswith(SESSIONLESS_PREFIXES) and carries_nul(request.args, request.form):
            abort(400, "Text cannot contain NUL characters.")

    @app.after_request
    def finish_request(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if request.path.startswith(SESSIONLESS_PREFIXES):
            # JSON for providers and load balancers: nothing to frame, script or vary by HTMX,
            # and at webhook rates each header set here is CPU taken from the next request.
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            return response
        add_vary_header(response)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # A page that lets some sites frame it (the connect card) says so in its own CSP.
        if "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]:
            response.headers.setdefault("X-Frame-Options", "DENY")
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    app.add_template_global(error_summary)

    @app.context_processor
    def inject_layout():
        if not current_user.is_authenticated:
            return {"nav_items": []}
        return {"nav_items": nav_items(current_user, request.endpoint or "")}
