#!/usr/bin/env python3
"""`make scale-test`: Koinonia scaled out across processes on this one machine.

HAProxy in front of two gunicorn web hosts, two RQ worker hosts, a PostgreSQL primary with a
streaming replica (pg_basebackup -R) and PgBouncer in transaction mode, Redis with an
append-only file, and the Telnyx simulator: each its own process on its own port, data under
.var/scale (started fresh every run).

It seeds the demo plus SCALE_MEMBERS members (set-based SQL) in Grace Community Church, makes a
broadcast to all of them through the balancer with an API key, while the simulator posts signed
status webhooks back through the balancer and a few signed-in threads read the inbox and search
members. The first part of the send runs on one worker host, the second on two; then one web
host and one worker host are killed with SIGKILL. It prints the requests each web host served
(HAProxy's stats socket), the reads the replica answered (pg_stat_database on the replica), the
sends per second with one and two worker hosts, and whether every recipient reached a final
state with exactly one message accepted by the simulator. Exit status 1 if anything was lost
or sent twice. Everything started here is stopped at the end (also on Ctrl-C or failure).

Ports (env): SCALE_HAPROXY_PORT 8120, SCALE_WEB_PORTS 8121,8122, SCALE_PG_PORT 55521,
SCALE_REPLICA_PORT 55522, SCALE_PGBOUNCER_PORT 55523, SCALE_REDIS_PORT 64021,
SCALE_SIM_PORT 8221, SCALE_SMTP_PORT 8321. Size: SCALE_MEMBERS (50000), SCALE_READERS (3).
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import services  # noqa: E402 - stdlib-only sibling

PY = str(ROOT / ".venv" / "bin" / "python")
BIN = ROOT / ".venv" / "bin"
DATA = ROOT / ".var" / "scale"


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


HAPROXY_PORT = _port("SCALE_HAPROXY_PORT", 8120)
WEB_PORTS = [int(p) for p in os.environ.get("SCALE_WEB_PORTS", "8121,8122").split(",")]
PG_PORT = _port("SCALE_PG_PORT", 55521)
REPLICA_PORT = _port("SCALE_REPLICA_PORT", 55522)
PGBOUNCER_PORT = _port("SCALE_PGBOUNCER_PORT", 55523)
REDIS_PORT = _port("SCALE_REDIS_PORT", 64021)
SIM_PORT = _port("SCALE_SIM_PORT", 8221)
SMTP_PORT = _port("SCALE_SMTP_PORT", 8321)
MEMBERS = _port("SCALE_MEMBERS", 50_000)
READERS = _port("SCALE_READERS", 3)
# After a worker host dies, its claims are reaped (to `unknown`, then settled by webhooks) after this.
REAP_AFTER = _port("SCALE_REAP_AFTER", 15)
BASE = f"http://127.0.0.1:{HAPROXY_PORT}"
SIM = f"http://127.0.0.1:{SIM_PORT}"
FINAL_TIMEOUT = _port("SCALE_FINAL_TIMEOUT", 600)
# Give up when nothing moved for this long: longer than a lost batch job's wait for the resume
# sweep (app.broadcasts.services.ACTIVE_TTL 300 s, then a sweep every 60 s) and the reaper.
STALL_LIMIT = max(420, 3 * REAP_AFTER + 60)
# The web hosts reach the primary through PgBouncer (default) or directly (SCALE_WEB_DB=direct).
WEB_DB = os.environ.get("SCALE_WEB_DB", "pgbouncer")


def say(msg: str) -> None:
    print(f"scale-test [{time.strftime('%H:%M:%S')}]: {msg}", flush=True)


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


# --------------------------------------------------------------------------- processes


class Stack:
    """Every process and server this run started, so that all of them can be stopped."""

    def __init__(self) -> None:
        self.procs: dict[str, subprocess.Popen] = {}
        self.replica_dir: Path | None = None

    def spawn(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(DATA / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the child's life
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def kill9(self, name: str) -> None:
        """SIGKILL a host: its leader and everything it forked (its own process group)."""
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                proc.wait(5)
        if self.replica_dir is not None:
            pg_ctl = services.find_pg_bindir() / "pg_ctl"
            subprocess.run(
                services._as_pg_user([str(pg_ctl), "stop", "-m", "immediate", "-w", "-D", str(self.replica_dir)]),
                check=False,
                capture_output=True,
                cwd=self.replica_dir,
            )
        services.stop(DATA)


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def fresh_data() -> None:
    """Stop whatever an earlier run left behind and start from empty directories."""
    if DATA.exists():
        services.stop(DATA)
        loc = DATA / "pg-location"
        if loc.exists():
            shutil.rmtree(loc.read_text().strip(), ignore_errors=True)
        home = services.pg_home(DATA)
        if home != DATA.resolve():
            shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(DATA)
    DATA.mkdir(parents=True)
    DATA.chmod(0o755)


def pg_run(cmd: list[str], cwd: Path) -> None:
    res = subprocess.run(services._as_pg_user(cmd), cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed: {res.stderr.strip() or res.stdout.strip()}")


def start_replica(stack: Stack, bindir: Path) -> str:
    home = services.pg_home(DATA)
    rdir = home / "replica"
    say(f"streaming replica: pg_basebackup -R into {rdir}, port {REPLICA_PORT}")
    cmd = [services._pg_tool(bindir, "pg_basebackup"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres"]
    cmd += ["-D", str(rdir), "-R", "-X", "stream", "-c", "fast"]
    rdir.mkdir(mode=0o700)
    services._chown_to_pg_user(rdir)
    pg_run(cmd, cwd=home)
    with (rdir / "postgresql.auto.conf").open("a") as fh:
        fh.write(f"port = {REPLICA_PORT}\nunix_socket_directories = '{rdir}'\nhot_standby = on\n")
    logfile = home / "replica.log"
    logfile.touch()
    services._chown_to_pg_user(logfile)
    stack.replica_dir = rdir
    start = [str(bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(rdir), "-l", str(logfile)]
    pg_run(start, cwd=rdir)
    return services.pg_url(REPLICA_PORT)


def start_pgbouncer(stack: Stack) -> str:
    home = services.pg_home(DATA)
    bdir = home / "pgbouncer"
    bdir.mkdir(exist_ok=True)
    (bdir / "users.txt").write_text(f'"{services.APP_ROLE}" "{services.APP_PASSWORD}"\n')
    (bdir / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"{services.APP_DB} = host=127.0.0.1 port={PG_PORT} dbname={services.APP_DB}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {PGBOUNCER_PORT}\nunix_socket_dir =\n"
        f"auth_type = md5\nauth_file = {bdir / 'users.txt'}\n"
        "pool_mode = transaction\nmax_client_conn = 1000\ndefault_pool_size = 40\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {bdir / 'pgbouncer.log'}\n"
    )
    for p in (bdir, bdir / "users.txt", bdir / "pgbouncer.ini"):
        services._chown_to_pg_user(p)
    exe = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    # PgBouncer, like PostgreSQL, will not run as root.
    stack.spawn("pgbouncer", services._as_pg_user([exe, str(bdir / "pgbouncer.ini")]))
    if not services._wait_for_port(PGBOUNCER_PORT, 15):
        raise RuntimeError(f"pgbouncer did not start; see {bdir / 'pgbouncer.log'}")
    return services.pg_url(PGBOUNCER_PORT)


def start_haproxy(stack: Stack) -> Path:
    sock = DATA / "haproxy.sock"
    servers = "".join(
        f"    server web{i + 1} 127.0.0.1:{port} check inter 1s fall 2 rise 2\n" for i, port in enumerate(WEB_PORTS)
    )
    cfg = DATA / "haproxy.cfg"
    cfg.write_text(
        "global\n"
        f"    stats socket {sock} mode 600 level admin\n"
        "    maxconn 2000\n"
        "defaults\n"
        "    mode http\n    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n"
        "    option redispatch\n    retries 3\n    retry-on conn-failure empty-response response-timeout\n"
        "frontend web\n"
        f"    bind 127.0.0.1:{HAPROXY_PORT}\n    default_backend hosts\n"
        "backend hosts\n    balance roundrobin\n    option httpchk GET /health\n" + servers
    )
    exe = shutil.which("haproxy") or "/usr/sbin/haproxy"
    stack.spawn("haproxy", [exe, "-f", str(cfg), "-db"])
    if not services._wait_for_port(HAPROXY_PORT, 15):
        raise RuntimeError(f"haproxy did not start; see {DATA / 'haproxy.log'}")
    return sock


def haproxy_stats(sock: Path) -> dict[str, dict[str, str]]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(sock))
        s.sendall(b"show stat\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    lines = data.decode().strip().splitlines()
    header = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
    return {r["svname"]: r for r in rows if r.get("pxname") == "hosts"}


# --------------------------------------------------------------------------- data


def run_flask(env: dict[str, str], *args: str) -> str:
    res = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if res.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed: {res.stderr.strip()[-2000:]}")
    return res.stdout.strip()


def seed(env: dict[str, str], db_url: str) -> tuple[int, str]:
    say("migrating and seeding the demo")
    run_flask(env, "db", "upgrade")
    run_flask(env, "seed-demo")
    t0 = time.monotonic()
    with psycopg.connect(libpq(db_url), autocommit=True) as conn:
        church_id = conn.execute("SELECT church_id FROM users WHERE email = 'admin@example.org'").fetchone()[0]
        conn.execute(
            "INSERT INTO members (church_id, first_name, last_name, phone_e164) "
            "SELECT %s, (ARRAY['Anna','Ben','Clara','David','Esther','Felix','Grace','Hannah','Isaac','Joel'])"
            "[1 + i %% 10], "
            "'Scale' || i, '+1650' || lpad(i::text, 7, '0') FROM generate_series(1, %s) AS i "
            "ON CONFLICT DO NOTHING",
            (church_id, MEMBERS),
        )
        # Not the point here: the per-number limit and quiet hours would cap or hold the send,
        # and the plan's allowance would refuse it.
        conn.execute("UPDATE phone_numbers SET number_type = 'short_code' WHERE church_id = %s", (church_id,))
        conn.execute(
            "UPDATE churches SET sms_quota = 100000000, quiet_hours_start = NULL, quiet_hours_end = NULL WHERE id = %s",
            (church_id,),
        )
        conn.execute("VACUUM ANALYZE members")
    say(f"{MEMBERS:,} members inserted in {time.monotonic() - t0:.1f}s")
    run_flask(env, "rebuild-stats", "--church", str(church_id))
    key = run_flask(
        env, "create-api-key", "--email", "admin@example.org", "--name", "scale test", "--scopes", "read,messages:send"
    )
    return church_id, key.splitlines()[-1].strip()


# --------------------------------------------------------------------------- load


class Readers:
    """A few signed-in people reading the inbox and searching members through the balancer."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.stop = threading.Event()
        self.ok = 0
        self.errors: dict[str, int] = {}
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def _count(self, outcome: str | None) -> None:
        with self.lock:
            if outcome is None:
                self.ok += 1
            else:
                self.errors[outcome] = self.errors.get(outcome, 0) + 1

    def _session(self) -> urllib.request.OpenerDirector:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page = opener.open(f"{BASE}/login", timeout=30).read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        form = {
            "email": "admin@example.org",
            "password": "koinonia-demo",
            "csrf_token": token.group(1) if token else "",
        }
        opener.open(f"{BASE}/login", data=urllib.parse.urlencode(form).encode(), timeout=30).read()
        return opener

    def _run(self, i: int) -> None:
        opener = None
        names = ["an", "ben", "cla", "da", "es", "fe", "gr", "ha", "is", "jo", "scale1", "scale42"]
        n = 0
        while not self.stop.is_set():
            try:
                if opener is None:
                    opener = self._session()
                n += 1
                url = f"{BASE}/inbox" if n % 2 else f"{BASE}/members?q={names[(i + n) % len(names)]}"
                with opener.open(url, timeout=30) as r:
                    r.read()
                    self._count(None if r.status == 200 and "/login" not in r.url else f"{r.status} {r.url}")
            except urllib.error.HTTPError as exc:
                self._count(str(exc.code))
            except (urllib.error.URLError, OSError) as exc:
                self._count(type(exc).__name__)
                time.sleep(0.5)
            self.stop.wait(0.2)

    def start(self) -> None:
        for i in range(self.n):
            t = threading.Thread(target=self._run, args=(i,), daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(35)


def replica_reads(replica_url: str) -> tuple[int, int]:
    """(transactions committed, tuples returned) in the app's database on the replica."""
    admin = libpq(replica_url).rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit, tup_returned FROM pg_stat_database WHERE datname = %s", (services.APP_DB,)
        ).fetchone()
    return int(row[0]), int(row[1])


def progress(conn: psycopg.Connection, broadcast_id: int) -> int:
    """Recipients the workers are done with (claimed and handed to the provider, or settled)."""
    return conn.execute(
        "SELECT count(*) FROM broadcast_recipients WHERE broadcast_id = %s AND status NOT IN ('queued', 'sending')",
        (broadcast_id,),
    ).fetchone()[0]


def measure_until(conn: psycopg.Connection, broadcast_id: int, start_at: int, until: int, timeout: float) -> float:
    """Sends per second between `start_at` and `until` recipients done."""
    deadline = time.monotonic() + timeout
    t0 = c0 = None
    while time.monotonic() < deadline:
        done = progress(conn, broadcast_id)
        now = time.monotonic()
        if t0 is None and done >= start_at:
            t0, c0 = now, done
        if t0 is not None and done >= until:
            return (done - c0) / max(now - t0, 1e-6)
        time.sleep(0.5)
    raise RuntimeError(f"the broadcast stalled below {until} recipients done")


def wait_for_workers(redis_url: str, n: int, timeout: float = 120) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while client.scard("rq:workers") < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {n} worker hosts registered with RQ after {timeout:.0f}s")
        time.sleep(0.2)


def prepared_statement_errors() -> int:
    n = 0
    for i in range(len(WEB_PORTS)):
        with contextlib.suppress(OSError), open(DATA / f"web{i + 1}.log", errors="replace") as fh:
            n += sum(1 for line in fh if "prepared statement" in line)
    return n


def get_json(url: str, timeout: float = 60) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


# --------------------------------------------------------------------------- the run


def main() -> int:
    services.ensure_system_packages(commands={"haproxy": "haproxy", "pgbouncer": "pgbouncer"})
    bindir = services.find_pg_bindir()
    say(f"start ({load()})")
    fresh_data()
    stack = Stack()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return run(stack, bindir)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        say("stopping everything")
        stack.stop()


def run(stack: Stack, bindir: Path) -> int:
    primary = services.ensure_postgres(DATA, PG_PORT, fast=True)
    redis_url = services.ensure_redis(DATA, REDIS_PORT, aof=True)
    key_file = DATA / "simulator_ed25519.key"
    public_key = subprocess.run(
        [PY, "-m", "app.delivery.simulator", "public-key", "--private-key-file", str(key_file)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    env = {
        **os.environ,
        "DATABASE_URL": primary,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_urlsafe(48),  # one per run, shared by every host of it
        "KOINONIA_ENV": "development",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        "APP_BASE_URL": BASE,
        "SMS_PROVIDER": "simulator",
        "TELNYX_API_BASE": f"{SIM}/v2",
        "TELNYX_PUBLIC_KEY": public_key,
        "SMTP_URL": f"smtp://127.0.0.1:{SMTP_PORT}",
        "SMS_RATES": "short_code=100000",
        "REAP_CLAIMS_AFTER_SECONDS": str(REAP_AFTER),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("DATABASE_REPLICA_URL", "DATABASE_POOLER", "PORT", "WEB_CONCURRENCY"):
        env.pop(name, None)
    church_id, api_key = seed(env, primary)

    replica = start_replica(stack, bindir)
    bouncer = start_pgbouncer(stack)
    say(f"web hosts reach the primary {'through PgBouncer' if WEB_DB == 'pgbouncer' else 'directly'}")
    say(f"primary :{PG_PORT}, replica :{REPLICA_PORT}, pgbouncer :{PGBOUNCER_PORT} (transaction mode)")

    stack.spawn(
        "simulator",
        [PY, "-m", "app.delivery.simulator", "--port", str(SIM_PORT), "--smtp-port", str(SMTP_PORT)]
        + ["--private-key-file", str(key_file), "--webhook-url", f"{BASE}/webhooks/telnyx"],
        env=env,
    )
    via_bouncer = WEB_DB == "pgbouncer"
    web_env = {
        **env,
        "DATABASE_URL": bouncer if via_bouncer else primary,
        **({"DATABASE_POOLER": "pgbouncer"} if via_bouncer else {}),
        "DATABASE_REPLICA_URL": replica,
        "WEB_CONCURRENCY": os.environ.get("SCALE_WEB_CONCURRENCY", "2"),
    }
    for i, port in enumerate(WEB_PORTS):
        host_env = {
            **web_env,
            "PORT": str(port),
            "GUNICORN_ACCESS_LOG": str(DATA / f"web{i + 1}-access.log"),
            "PROMETHEUS_MULTIPROC_DIR": str(DATA / f"web{i + 1}-metrics"),
        }
        stack.spawn(f"web{i + 1}", [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], env=host_env)
    wait_http(f"{SIM}/_sim/health")
    for port in WEB_PORTS:
        wait_http(f"http://127.0.0.1:{port}/health", timeout=90)
    sock = start_haproxy(stack)
    wait_http(f"{BASE}/health")
    stack.spawn("worker1", [PY, "worker.py"], env=env)
    wait_for_workers(redis_url, 1)
    say(f"stack up: haproxy :{HAPROXY_PORT} -> web :{WEB_PORTS[0]} :{WEB_PORTS[1]}, 1 worker host ({load()})")

    reads0 = replica_reads(replica)
    readers = Readers(READERS)
    readers.start()

    req = urllib.request.Request(
        f"{BASE}/api/v1/broadcasts",
        data=json.dumps(
            {
                "title": "Scale test",
                "body": "Grace Community Church: service at 10am Sunday. Reply STOP to opt out.",
                "audience": {"everyone": True},
            }
        ).encode(),
        headers={
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Idempotency-Key": "scale-1",
        },
        method="POST",
    )
    t_send = time.monotonic()
    with urllib.request.urlopen(req, timeout=300) as r:
        created = json.loads(r.read())["data"]
    broadcast_id = created["id"]
    conn = psycopg.connect(libpq(primary), autocommit=True)
    total = conn.execute(
        "SELECT count(*) FROM broadcast_recipients WHERE broadcast_id = %s", (broadcast_id,)
    ).fetchone()[0]
    say(f"broadcast {broadcast_id} created through the balancer: {total:,} recipients ({load()})")

    # Phase 1: one worker host, measured between 5% and 30% done (after warm-up).
    rate1 = measure_until(conn, broadcast_id, int(total * 0.05), int(total * 0.30), 1800)
    say(f"one worker host: {rate1:,.0f} sends/s ({load()})")
    stack.spawn("worker2", [PY, "worker.py"], env=env)
    # Measured from the moment the second host has registered with RQ, not from its spawn.
    wait_for_workers(redis_url, 2)
    start = progress(conn, broadcast_id)
    until = min(start + int(total * 0.25), int(total * 0.85))
    # A small run can finish before the second host has started: then there is no second figure.
    rate2 = measure_until(conn, broadcast_id, start, until, 1800) if until - start >= total * 0.05 else None
    say(f"two worker hosts: {f'{rate2:,.0f} sends/s' if rate2 else 'not measured (too few left)'} ({load()})")

    say("kill -9 web host 1 and worker host 2")
    stack.kill9("web1")
    stack.kill9("worker2")
    t_kill = time.monotonic()

    # Until every recipient is final, the simulator has posted every webhook and none is left unprocessed.
    deadline = time.monotonic() + FINAL_TIMEOUT
    last, last_change = None, time.monotonic()
    settled = False
    while True:
        open_rows = conn.execute(
            "SELECT count(*) FILTER (WHERE status IN ('queued', 'sending', 'unknown')), "
            "count(*) FILTER (WHERE status = 'sent') FROM broadcast_recipients WHERE broadcast_id = %s",
            (broadcast_id,),
        ).fetchone()
        pending = get_json(f"{SIM}/_sim/health")["pending_webhooks"]
        if open_rows[0] == 0 and open_rows[1] == 0 and pending == 0:
            settled = True
            break
        if (open_rows, pending) != last:
            last, last_change = (open_rows, pending), time.monotonic()
        if time.monotonic() > deadline or time.monotonic() - last_change > STALL_LIMIT:
            say(
                f"gave up waiting: {open_rows[0]} not final, {open_rows[1]} awaiting status, {pending} webhooks pending"
            )
            break
        time.sleep(2)
    t_done = time.monotonic()
    readers.finish()
    reads1 = replica_reads(replica)
    took = f"{t_done - t_kill:.0f}s after the kills, {t_done - t_send:.0f}s after it was created"
    say(f"broadcast {'settled' if settled else 'still not settled'} {took} ({load()})")

    # ---- the figures
    stats = haproxy_stats(sock)
    statuses = dict(
        conn.execute(
            "SELECT status, count(*) FROM broadcast_recipients WHERE broadcast_id = %s GROUP BY status", (broadcast_id,)
        ).fetchall()
    )
    phones = {
        row[0]
        for row in conn.execute("SELECT to_e164 FROM broadcast_recipients WHERE broadcast_id = %s", (broadcast_id,))
    }
    sim = get_json(f"{SIM}/_sim/stats", timeout=120)
    by_to = sim["by_to"]
    lost = sorted(p for p in phones if by_to.get(p, 0) == 0)
    doubled = {p: n for p, n in by_to.items() if n > 1}
    strangers = sorted(p for p in by_to if p not in phones)
    not_final = sum(n for s, n in statuses.items() if s in ("queued", "sending", "unknown", "sent"))
    conn.close()

    print()
    print(f"== Scale-out test: {total:,}-recipient broadcast, web hosts -> {WEB_DB}, {load()}")
    for name, row in stats.items():
        if name in ("FRONTEND", "BACKEND"):
            continue
        print(
            f"  {name} requests served: {int(row['stot']):,} (status {row['status']}, 5xx {row.get('hrsp_5xx', '?')})"
        )
    backend = stats.get("BACKEND", {})
    print(f"  balancer: {int(backend.get('stot', 0)):,} requests, 5xx {backend.get('hrsp_5xx', '?')}")
    dx, dt = reads1[0] - reads0[0], reads1[1] - reads0[1]
    note = "" if dx > 0 else "  <- ZERO: the app does not route reads to DATABASE_REPLICA_URL"
    print(f"  replica: {dx:,} transactions, {dt:,} tuples returned while the broadcast ran{note}")
    prepared = prepared_statement_errors()
    if prepared:
        print(
            f"  web hosts: {prepared:,} errors from server-side prepared statements through PgBouncer "
            "(transaction mode needs them off: DATABASE_POOLER=pgbouncer)"
        )
    print(f"  readers (inbox + member search): {readers.ok:,} ok, errors {readers.errors or 0}")
    print(f"  sends/s, one worker host:  {rate1:,.0f}")
    if rate2:
        print(f"  sends/s, two worker hosts: {rate2:,.0f}  (ratio {rate2 / rate1:.2f})")
    else:
        print("  sends/s, two worker hosts: not measured (the send was nearly done when the second host started)")
    verdict = "settled in" if settled else "NOT settled after"
    print(f"  after kill -9 of web1 and worker2: {verdict} {t_done - t_kill:.0f}s")
    print(f"  recipients by status: {json.dumps(statuses, sort_keys=True)}")
    print(
        f"  simulator accepted {sim['accepted']:,} messages for {len(by_to):,} numbers; "
        f"lost {len(lost)}, sent twice {len(doubled)}, unexpected {len(strangers)}, not final {not_final}"
    )
    ok = not lost and not doubled and not strangers and not_final == 0
    if lost:
        print(f"  LOST (first 10): {lost[:10]}")
    if doubled:
        print(f"  SENT TWICE (first 10): {dict(list(doubled.items())[:10])}")
    print("  RESULT: " + ("nothing lost, nothing sent twice" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
