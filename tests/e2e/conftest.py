"""Browser journeys: the real app under gunicorn on loopback, driven in Debian's Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.request import urlopen

import pytest

from tests.conftest import make_app, run_slot

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            with urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@pytest.fixture(scope="session")
def simulator():
    """The Telnyx simulator the live app sends through; its webhooks go to the live app."""
    from app.delivery.simserver import Simulator

    with Simulator(webhook_delay_ms=200) as sim:
        yield sim


@pytest.fixture(scope="session")
def fake_stripe():
    """The local fake Stripe API the live app bills through; its events go to the live app."""
    from tests.fakes.stripe_server import FakeStripe

    with FakeStripe() as fake:
        yield fake


@pytest.fixture(scope="session")
def e2e_env(simulator, fake_stripe, mail_sink):
    """Environment for the live processes: their own database and Redis db number."""
    app = make_app(f"koinonia_e2e_{run_slot()}")
    port = free_port()
    # The Redis database after the one the integration tests flush.
    base, _, number = os.environ["TEST_REDIS_URL"].rpartition("/")
    redis_url = f"{base}/{int(number or 0) + 1}"
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
        "SECRET_KEY": "e2e-secret-key-0123456789",
        "KOINONIA_ENV": "development",
        "APP_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_FORMAT": "console",
        "PORT": str(port),
        "SMS_PROVIDER": "simulator",
        "TELNYX_API_BASE": simulator.api_base,
        "TELNYX_PUBLIC_KEY": simulator.public_key_b64,
        "STRIPE_SECRET_KEY": fake_stripe.secret_key,
        "STRIPE_WEBHOOK_SECRET": fake_stripe.webhook_secret,
        "STRIPE_API_BASE": fake_stripe.api_base,
        "STRIPE_PRICE_IDS": fake_stripe.price_ids_env,
        "SMTP_URL": mail_sink.url,
    }
    fake_stripe.webhook_url = f"http://127.0.0.1:{port}/webhooks/stripe"
    simulator.webhook_url = f"http://127.0.0.1:{port}/webhooks/telnyx"
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    return env


@pytest.fixture(scope="session")
def live_server(e2e_env):
    """gunicorn serving the app and one RQ worker, as `make dev` runs them."""
    port = e2e_env["PORT"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=e2e_env,
    )
    worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=e2e_env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/health", proc)
        yield url
    finally:
        for p in (proc, worker):
            p.terminate()
        for p in (proc, worker):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture(scope="session")
def base_url(live_server):
    return live_server


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    path = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    return {**browser_type_launch_args, "executable_path": path, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture
def sign_in(page, base_url):
    """Sign in through the login form as the given demo user."""

    def _sign_in(email: str = "admin@example.org", password: str = "koinonia-demo"):
        page.goto(f"{base_url}/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state("networkidle")

    return _sign_in
