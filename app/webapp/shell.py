"""The app shell a service worker keeps: static files and the offline page, never signed-in pages.

Church data must not outlive a session on a shared phone, so the worker stores only what is the
same for everyone. Its cache is named after a hash of those files, so a deploy that changes any
of them installs a new worker, which drops the old cache.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

THEME_COLOUR = "#4f46e5"  # --accent in static/css/app.css
BACKGROUND_COLOUR = "#f6f5f2"  # --bg
STATIC_FILES = (
    "css/app.css",
    "js/vendor/htmx.min.js",
    "js/app.js",
    "favicon.svg",
    "icons/icon.svg",
    "icons/icon-192.png",
)
ICONS = (
    {"src": "icons/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
    {"src": "icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
    {"src": "icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
    {"src": "icons/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
)


@cache
def shell_version(static_folder: str, template_folder: str) -> str:
    """A short hash of the shell's files and the worker itself: what names the worker's cache."""
    digest = hashlib.sha256()
    files = [Path(static_folder, name) for name in STATIC_FILES]
    files += [Path(template_folder, "webapp", name) for name in ("sw.js", "offline.html")]
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
