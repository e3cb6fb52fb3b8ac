"""/manifest.webmanifest, /sw.js and /offline: public, the same for everyone, no church data."""

from __future__ import annotations

import os

from flask import current_app, render_template, url_for

from app.webapp import bp
from app.webapp.shell import BACKGROUND_COLOUR, ICONS, STATIC_FILES, THEME_COLOUR, shell_version


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: name, start page, standalone display, colours and icons."""
    body = {
        "id": "/inbox",
        "name": "Koinonia",
        "short_name": "Koinonia",
        "description": "Texting for churches: your inbox of members' replies.",
        "start_url": url_for("inbox.index"),
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [{**icon, "src": url_for("static", filename=icon["src"])} for icon in ICONS],
    }
    response = current_app.json.response(body)
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/sw.js")
def service_worker():
    """The service worker, at the root so that its scope is the whole app."""
    shell = [url_for("static", filename=name) for name in STATIC_FILES] + [url_for("webapp.offline")]
    body = render_template(
        "webapp/sw.js",
        version=shell_version(
            current_app.static_folder, os.path.join(current_app.root_path, current_app.template_folder)
        ),
        shell=shell,
        offline_url=url_for("webapp.offline"),
        icon_url=url_for("static", filename="icons/icon-192.png"),
        inbox_url=url_for("inbox.index"),
    )
    response = current_app.response_class(body, mimetype="text/javascript")
    # Browsers check for a new worker on navigation; never let an HTTP cache hide one.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline")
def offline():
    """What the service worker shows when a page cannot be reached."""
    response = current_app.response_class(render_template("webapp/offline.html"))
    response.headers["Cache-Control"] = "no-cache"
    return response
