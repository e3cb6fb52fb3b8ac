"""The installable app: the manifest, the service worker and the offline page."""

from __future__ import annotations

import re
import struct

from app.webapp.shell import shell_version


def test_manifest_names_the_app_its_start_page_and_icons(client, db):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["name"] == "Koinonia"
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == ("/inbox", "/", "standalone")
    assert manifest["theme_color"] == "#4f46e5"
    sizes = {}
    for icon in manifest["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200, icon["src"]
        assert image.mimetype == icon["type"]
        if icon["type"] == "image/png":
            data = image.get_data()
            assert data[:8] == b"\x89PNG\r\n\x1a\n"
            width, height = struct.unpack(">II", data[16:24])
            assert f"{width}x{height}" == icon["sizes"]
            sizes[icon["purpose"], width] = True
    assert {("any", 192), ("any", 512), ("maskable", 512)} <= set(sizes)


def test_every_page_links_the_manifest_and_registers_the_worker(client, db, login_as):
    for path in ("/login",):
        html = client.get(path).get_data(as_text=True)
        assert '<link rel="manifest" href="/manifest.webmanifest">' in html
        assert 'data-service-worker="/sw.js"' in html
    login_as("leader")
    html = client.get("/inbox").get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html


def test_service_worker_keeps_only_the_static_shell_and_the_offline_page(client, db):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "Content-Security-Policy" in response.headers
    js = response.get_data(as_text=True)
    shell = re.search(r"const SHELL = (\[.*?\]);", js).group(1)
    paths = re.findall(r'"([^"]+)"', shell)
    assert "/offline" in paths and "/static/css/app.css" in paths
    # Nothing but static files and the offline page: no signed-in page, no API answer.
    assert all(p.startswith("/static/") or p == "/offline" for p in paths), paths
    version = re.search(r'const VERSION = "([0-9a-f]+)";', js).group(1)
    assert '"koinonia-shell-" + VERSION' in js and len(version) == 12
    # Pages are fetched from the network only; the worker never writes to a cache outside install.
    assert js.count("cache.put") == 0 and js.count("cache.addAll") == 1


def test_cache_name_changes_when_a_shell_file_changes(tmp_path):
    static, templates = tmp_path / "static", tmp_path / "templates"
    from app.webapp.shell import STATIC_FILES

    for name in STATIC_FILES:
        (static / name).parent.mkdir(parents=True, exist_ok=True)
        (static / name).write_text("a")
    (templates / "webapp").mkdir(parents=True)
    for name in ("sw.js", "offline.html"):
        (templates / "webapp" / name).write_text("w")
    before = shell_version(str(static), str(templates))
    shell_version.cache_clear()
    (static / "css/app.css").write_text("b")
    assert shell_version(str(static), str(templates)) != before
    shell_version.cache_clear()


def test_offline_page_is_the_same_for_everyone(client, db, login_as):
    anonymous = client.get("/offline")
    assert anonymous.status_code == 200
    login_as("leader")
    signed_in = client.get("/offline")
    html = signed_in.get_data(as_text=True)
    assert html == anonymous.get_data(as_text=True)
    assert "leader@example.org" not in html and "csrf" not in html.lower() and "<script" not in html
    assert "You’re offline" in html
