"""A whole Koinonia stack in real processes, for the fault suite: servers that can be broken.

Its own PostgreSQL and Redis (scripts/services.py, under .var/faults-<slot>, on free ports: the
suite's shared servers are never touched), the Telnyx simulator, gunicorn and RQ workers as
subprocesses with the environment `make dev` gives them. Workers run under a small supervisor
that starts a dead one again, as the process manager of any deployment does
(docker-compose's `restart: unless-stopped`). The test process never builds a Koinonia app
itself (the Redis extension is process-wide): it reads the database with psycopg, Redis with
redis-py, and runs app-side set-up through tests/faults/stackctl.py in a subprocess.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import services  # noqa: E402 - scripts/ is not a package

DB_NAME = "koinonia_faults"
SECRET = "fault-suite-secret-key-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float, what: str, interval: float = 0.1):
    """Poll `check()` until it returns something truthy; AssertionError naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except Exception:  # noqa: BLE001 - a server coming back refuses for a while
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


class Proc:
    """One supervised subprocess in its own process group, logging to a file."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_dir: Path, *, restart: bool) -> None:
        self.name, self.cmd, self.env, self.restart = name, cmd, env, restart
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it open
        log.write(f"\n--- start {self.starts + 1}: {' '.join(self.cmd)}\n".encode())
        log.flush()
        self.popen = subprocess.Popen(
            self.cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.starts += 1

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        """Signal the process and everything it forked (RQ work horses, gunicorn workers)."""
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)

    def stop(self) -> None:
        if self.popen is None:
            return
        self.kill_group(signal.SIGTERM)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.kill_group(signal.SIGKILL)  # leftovers (a horse in the middle of a job)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Stack:
    """PostgreSQL, Redis, simulator, gunicorn (2 workers) and RQ workers, all real processes."""

    def __init__(self, *, workers: int = 2, web_workers: int = 2) -> None:
        slot = os.environ.get("TEST_SLOT") or os.environ.get("PYTEST_XDIST_WORKER") or "main"
        self.dir = ROOT / ".var" / f"faults-{slot}"
        self.log_dir = self.dir / "logs"
        self.pg_port = int(os.environ.get("FAULTS_PG_PORT") or free_port())
        self.redis_port = int(os.environ.get("FAULTS_REDIS_PORT") or free_port())
        self.web_port, self.sim_port = free_port(), free_port()
        self.n_workers, self.web_workers = workers, web_workers
        self.procs: dict[str, Proc] = {}
        self.worker_restarts = 0
        self._supervising = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.key_file = self.dir / "simulator_ed25519.key"

    # -- addresses ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    @property
    def db_url(self) -> str:
        return services.pg_url(self.pg_port, DB_NAME)

    @property
    def libpq_url(self) -> str:
        return self.db_url.replace("postgresql+psycopg://", "postgresql://")

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TEST_", "DATABASE_", "REDIS_", "TELNYX_", "STRIPE_", "SMTP_"))
        }
        env.update(
            DATABASE_URL=self.db_url,
            REDIS_URL=self.redis_url,
            SECRET_KEY=SECRET,
            KOINONIA_ENV="development",
            APP_BASE_URL=self.url,
            PORT=str(self.web_port),
            WEB_CONCURRENCY=str(self.web_workers),
            SMS_PROVIDER="simulator",
            TELNYX_API_BASE=f"{self.sim_url}/v2",
            TELNYX_PUBLIC_KEY=self.public_key,
            # The test drives the pace; the per-number limit is not what is under test here.
            SMS_RATES="long_code=800,toll_free=800,short_code=800",
            # A claim left by a killed worker is reaped after 20 s instead of 5 min.
            REAP_CLAIMS_AFTER_SECONDS="20",
            # A reply whose job Redis lost is queued again after 5 s instead of 2 min.
            REQUEUE_LOST_JOBS_AFTER_SECONDS="5",
            LOG_FORMAT="console",
            LOG_LEVEL="WARNING",
            SLOW_QUERY_MS="100000",
            PYTHONUNBUFFERED="1",
        )
        return env

    # -- servers ----------------------------------------------------------------------------

    def start_postgres(self) -> None:
        services.ensure_postgres(self.dir, self.pg_port, fast=True)

    def stop_postgres(self) -> None:
        services.stop_postgres(self.dir)

    def start_redis(self) -> None:
        services.ensure_redis(self.dir, self.redis_port)

    def stop_redis(self) -> None:
        services.stop_redis(self.dir)

    # -- lifecycle ----------------------------------------------------------------------------

    def up(self) -> None:
        services.stop(self.dir)  # whatever an interrupted run left behind
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for old in self.log_dir.glob("*.log"):
            old.unlink()
        self.start_postgres()
        self.start_redis()
        admin = services.pg_url(self.pg_port, "postgres").replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
        from app.delivery.simulator import load_or_create_key
        from app.security.signatures import public_key_b64

        self.private_key = load_or_create_key(self.key_file)
        self.public_key = public_key_b64(self.private_key)
        env = self.env()
        flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
        self.run([*flask, "db", "upgrade"], env)
        self.run([*flask, "seed-demo"], env)
        py = sys.executable
        sim_cmd = [py, "-m", "app.delivery.simulator", "--port", str(self.sim_port)]
        sim_cmd += ["--webhook-url", f"{self.url}/webhooks/telnyx", "--private-key-file", str(self.key_file)]
        # Telnyx tries a webhook 3 times; spaced so that a restart of the database is ridden out.
        sim_cmd += ["--webhook-retry-delay", "5", "--hang-seconds", "10", "--webhook-delay-ms", "100"]
        self.procs["simulator"] = Proc("simulator", sim_cmd, env, self.log_dir, restart=False)
        gunicorn = [py, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.web_port}"]
        self.procs["web"] = Proc("web", [*gunicorn, "wsgi:app"], env, self.log_dir, restart=False)
        for i in range(self.n_workers):
            self.procs[f"worker{i}"] = Proc(f"worker{i}", [py, "worker.py"], env, self.log_dir, restart=True)
        for proc in self.procs.values():
            proc.start()
        wait_until(lambda: httpx.get(f"{self.sim_url}/_sim/health").status_code == 200, 30, "the simulator")
        wait_until(lambda: httpx.get(f"{self.url}/health").status_code == 200, 60, "gunicorn")
        self._supervising.set()
        self._supervisor = threading.Thread(target=self._supervise, name="fault-supervisor", daemon=True)
        self._supervisor.start()

    def run(self, cmd: list[str], env: dict[str, str]) -> str:
        res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}")
        return res.stdout

    def ctl(self, *args: str) -> Any:
        """Run tests/faults/stackctl.py in the stack's environment; its JSON answer."""
        out = self.run([sys.executable, "-m", "tests.faults.stackctl", *args], self.env())
        return json.loads(out.strip().splitlines()[-1])

    def _supervise(self) -> None:
        while self._supervising.is_set():
            for proc in list(self.procs.values()):
                if proc.restart and not proc.alive() and self._supervising.is_set():
                    proc.kill_group()  # a horse that outlived its parent
                    time.sleep(1)  # a process manager's restart delay
                    proc.start()
                    self.worker_restarts += 1
            time.sleep(0.2)

    def down(self) -> None:
        self._supervising.clear()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
        # All at once: gunicorn and RQ each take a few seconds to shut down gracefully.
        for proc in self.procs.values():
            proc.kill_group(signal.SIGTERM)
        for proc in self.procs.values():
            proc.stop()
        services.stop(self.dir)

    def logs(self) -> str:
        return "\n".join(f"===== {name}\n{proc.tail()}" for name, proc in self.procs.items())

    # -- faults and probes ----------------------------------------------------------------------

    def workers(self) -> list[Proc]:
        return [p for name, p in self.procs.items() if name.startswith("worker")]

    def web_worker_pids(self) -> list[int]:
        master = self.procs["web"].popen.pid
        kids: list[int] = []
        for task in Path(f"/proc/{master}/task").iterdir():
            with contextlib.suppress(OSError):
                kids += [int(c) for c in (task / "children").read_text().split()]
        return kids

    def sim(self, method: str, path: str, **kw) -> Any:
        r = httpx.request(method, f"{self.sim_url}/_sim/{path}", timeout=30, **kw)
        r.raise_for_status()
        return r.json()

    def sql(self, query: str, params: tuple | dict | None = None) -> list[tuple]:
        with psycopg.connect(self.libpq_url, connect_timeout=5) as conn:
            return conn.execute(query, params).fetchall()

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url, socket_timeout=5)

    def sign(self, raw: bytes) -> dict[str, str]:
        from app.security.signatures import sign_telnyx

        return sign_telnyx(raw, self.private_key, int(time.time()))

    def login(self, email: str = "admin@example.org", password: str = "koinonia-demo") -> httpx.Client:
        """An HTTP client signed in through the login form, as a browser is."""
        import re

        client = httpx.Client(base_url=self.url, timeout=30, follow_redirects=False)
        page = client.get("/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        assert token, "no CSRF token on /login"
        r = client.post("/login", data={"email": email, "password": password, "csrf_token": token.group(1)})
        assert r.status_code in (302, 303), f"sign-in failed: {r.status_code}"
        return client
