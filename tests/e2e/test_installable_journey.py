"""Koinonia as an installed app in Chromium: the manifest is found, the worker serves the offline page."""

from __future__ import annotations

import http.client
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

CACHED_URLS = """async () => {
  const urls = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) urls.push(new URL(request.url).pathname);
  }
  return urls;
}"""


class _Origin:
    """A loopback origin forwarding to the live app, which the test can take off the network.

    Chromium's offline emulation does not reach service workers, so "the network is gone" is a
    server that stops answering: the worker's fetch then fails as it does on a phone in a tunnel.
    """

    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)

        class Forward(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = _forward

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def go_offline(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_installable_app_works_offline_without_keeping_pages(page, live_server):
    origin = _Origin(live_server)
    page.goto(f"{origin.url}/login")
    page.get_by_label("Email").fill("leader@example.org")
    page.get_by_label("Password").fill("koinonia-demo")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.goto(f"{origin.url}/inbox")
    manifest = page.evaluate("async () => (await fetch(document.querySelector('link[rel=manifest]').href)).json()")
    assert manifest["name"] == "Koinonia" and manifest["display"] == "standalone"
    assert page.evaluate("async () => (await navigator.serviceWorker.ready).scope") == f"{origin.url}/"

    page.reload()  # now the worker controls the page
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    cached = page.evaluate(CACHED_URLS)
    assert "/offline" in cached and "/static/css/app.css" in cached
    # Signed in, on the inbox: still nothing but the static shell is stored.
    assert all(path.startswith("/static/") or path == "/offline" for path in cached), cached

    origin.go_offline()
    page.goto(f"{origin.url}/inbox/")
    expect(page.get_by_role("heading", name="You’re offline")).to_be_visible()
    expect(page.get_by_text("leader@example.org")).to_have_count(0)
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=f"{os.environ['SCREENSHOT_DIR']}/offline.png")
