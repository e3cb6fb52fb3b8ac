"""A mixed load test: 50 staff users for 60 s against the whole app, with status webhooks alongside.

    .venv/bin/python bench/load.py                       # build the data, then run
    .venv/bin/python bench/load.py --reuse               # run again on the data already built
    .venv/bin/python bench/load.py --users 50 --seconds 60 --think 0.5 --webhooks-per-second 50

Runs the app as `make dev` does: the simulator, gunicorn with gunicorn.conf.py's settings (the
same WEB_CONCURRENCY and GUNICORN_THREADS defaults) and worker.py (its queues and scheduler),
on its own database (koinonia_bench_load on the test server) and its own Redis database.

The data: the demo churches plus, in Grace Community Church, 20,000 members with a conversation
each (20 messages apiece), a finished broadcast of 20,000 recipients waiting for their delivery
receipts, and ten admins to sign in as (the users share their sessions five to one).

Each simulated user keeps one connection alive and loops: pick an action, make its requests as a
browser with HTMX would, then think for `--think` seconds on average (uniform, 0 to twice that):

    70%  inbox: the list (35), a thread pane (25), the 2 s live poll (10)
    10%  a reply in a thread (POST, sent to the simulator by the worker)
    10%  member search: the results and the lazy count, for a 2-4 letter name prefix
     5%  dashboard: the page and its three lazy charts
     5%  a broadcast's progress poll

Alongside, a steady stream of signed Telnyx `message.finalized` webhooks (5% re-delivered, as Telnyx
does) for the broadcast's recipients. Prints p50/p95/p99 and errors per route, the error total
(goal: 0), and whether every webhook answered 2xx was applied exactly once. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from delivery_throughput import database_url, recreate_database  # noqa: E402
from httpload import exchange  # noqa: E402
from inbox_throughput import BODIES  # noqa: E402
from simulator_throughput import free_port, wait_http  # noqa: E402

from app.security.signatures import public_key_b64, sign_telnyx  # noqa: E402

DB_NAME = "koinonia_bench_load"
MEMBERS = 20_000
MESSAGES_PER_CONVERSATION = 20
RECIPIENTS = 20_000
ADMINS = 10
PASSWORD = "koinonia-demo"
CHURCH_NUMBER = "+13125550100"
USER_AGENT = "koinonia-load/1"
CHARTS = ("sends", "replies", "optouts")
PREFIXES = ["gr", "sam", "ru", "dav", "est", "ok", "john", "ngu", "gar", "men", "smi", "ki", "ade", "lop", "bro"]
# (action, weight): the workload's mix.
MIX = [("inbox list", 35), ("thread", 25), ("inbox poll", 10), ("reply", 10), ("search", 10), ("dashboard", 5)]
MIX += [("progress", 5)]


def plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


# -- data ------------------------------------------------------------------------------------------


def build(env: dict[str, str], db_url: str) -> None:
    """Recreate the database, migrate, seed the demo, then add the bulk data set-based."""
    t0 = time.perf_counter()
    recreate_database(db_url)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*flask, "seed-demo"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    bodies = "ARRAY[" + ", ".join("'" + b.replace("'", "''") + "'" for b in BODIES) + "]"
    church = "(SELECT id FROM churches WHERE slug = 'grace-community-church')"
    steps = [
        (
            "admins",
            f"""
            INSERT INTO users (church_id, email, name, password_hash, role)
            SELECT u.church_id, 'load-admin-' || g || '@example.org', 'Load Admin ' || g, u.password_hash, 'admin'
            FROM users u, generate_series(1, {ADMINS - 1}) g WHERE u.email = 'admin@example.org'
            """,
        ),
        (
            "members",
            f"""
            INSERT INTO members (church_id, first_name, last_name, phone_e164, consent_source, consent_at)
            SELECT {church},
                   (ARRAY['Grace','Samuel','Ruth','David','Esther','Daniel','Mary','Joshua','Hannah','Caleb',
                          'Naomi','Isaac','Lydia','Elijah','Miriam'])[1 + i % 15],
                   (ARRAY['Okafor','Johnson','Nguyen','Garcia','Mensah','Smith','Kim','Adeyemi','Lopez',
                          'Brown','Wilson','Osei','Martinez','Davis','Chen'])[1 + (i / 15) % 15],
                   '+1630' || lpad(i::text, 7, '0'), 'form', now() - interval '90 days'
            FROM generate_series(1, {MEMBERS}) AS i
            """,
        ),
        (
            "conversations",
            f"""
            INSERT INTO conversations (church_id, member_id, phone_number_id, status, unread_count,
                                       last_message_at, last_message_preview, last_inbound_at, created_at)
            SELECT m.church_id, m.id, p.id, 'open', CASE WHEN m.id % 40 = 0 THEN 1 ELSE 0 END,
                   now() - (m.id % {MEMBERS}) * interval '97 seconds', ({bodies})[1 + m.id % {len(BODIES)}],
                   now() - (m.id % {MEMBERS}) * interval '97 seconds', now() - interval '120 days'
            FROM members m
            JOIN phone_numbers p ON p.church_id = m.church_id AND p.e164 = '{CHURCH_NUMBER}'
            WHERE m.phone_e164 LIKE '+1630%'
            """,
        ),
        (
            "messages",
            f"""
            INSERT INTO conversation_messages (church_id, conversation_id, direction, body, status, created_at)
            SELECT c.church_id, c.id, CASE WHEN g % 2 = 1 THEN 'in' ELSE 'out' END,
                   ({bodies})[1 + (c.id + g) % {len(BODIES)}],
                   CASE WHEN g % 2 = 1 THEN 'received' ELSE 'delivered' END,
                   c.last_message_at - ({MESSAGES_PER_CONVERSATION} - g) * interval '9 minutes'
            FROM conversations c, generate_series(1, {MESSAGES_PER_CONVERSATION}) AS g
            WHERE c.member_id IN (SELECT id FROM members WHERE phone_e164 LIKE '+1630%')
            """,
        ),
        (
            "broadcast awaiting receipts",
            f"""
            WITH b AS (
                INSERT INTO broadcasts (church_id, body, status, from_number, recipient_count, sent_count,
                                        created_at, started_at, completed_at)
                VALUES ({church}, 'Load test: service times change this Sunday.', 'sent', '{CHURCH_NUMBER}',
                        {RECIPIENTS}, {RECIPIENTS}, now() - interval '5 minutes', now() - interval '5 minutes',
                        now() - interval '4 minutes')
                RETURNING id, church_id
            )
            INSERT INTO broadcast_recipients (church_id, broadcast_id, member_id, to_e164, status,
                                              provider_message_id, sent_at)
            SELECT b.church_id, b.id, m.id, m.phone_e164, 'sent', 'load-' || m.phone_e164, now() - interval '4 minutes'
            FROM b, members m WHERE m.church_id = b.church_id AND m.phone_e164 LIKE '+1630%'
            LIMIT {RECIPIENTS}
            """,
        ),
        ("analyze", "ANALYZE"),
    ]
    with psycopg.connect(plain(db_url), autocommit=True) as conn:
        for name, sql in steps:
            t = time.perf_counter()
            conn.execute(sql)
            print(f"  {name}: {time.perf_counter() - t:.1f}s", flush=True)
    print(f"built in {time.perf_counter() - t0:.1f}s", flush=True)


def facts(db_url: str) -> tuple[list[int], int, list[str]]:
    """Conversation ids to open and reply in, the broadcast to poll, and its recipients' numbers."""
    with psycopg.connect(plain(db_url)) as conn:
        conversations = [
            r[0]
            for r in conn.execute(
                "SELECT c.id FROM conversations c JOIN members m ON m.id = c.member_id "
                "WHERE m.phone_e164 LIKE '+1630%' AND m.opted_out_at IS NULL ORDER BY c.id"
            )
        ]
        broadcast = conn.execute("SELECT max(id) FROM broadcasts WHERE body LIKE 'Load test:%'").fetchone()[0]
        numbers = [
            r[0]
            for r in conn.execute(
                "SELECT to_e164 FROM broadcast_recipients WHERE broadcast_id = %s AND status = 'sent' ORDER BY id",
                (broadcast,),
            )
        ]
    return conversations, broadcast, numbers


# -- the app, as make dev runs it ------------------------------------------------------------------


def start(env: dict[str, str], port: int, sim_port: int, key_file: str, log_dir: str) -> list[subprocess.Popen]:
    def spawn(name: str, cmd: list[str]) -> subprocess.Popen:
        log = open(f"{log_dir}/{name}.log", "w")  # noqa: SIM115 - lives as long as the process
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    py = sys.executable
    procs = [
        spawn(
            "simulator", [py, "-m", "app.delivery.simulator", "--port", str(sim_port), "--private-key-file", key_file]
        ),
        spawn("gunicorn", [py, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "wsgi:app"]),
        spawn("worker", [py, "worker.py"]),
    ]
    wait_http(f"http://127.0.0.1:{port}/health", timeout=60)
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def sign_in(port: int, email: str) -> tuple[str, str, str]:
    """Sign in through the real form: (Cookie header, CSRF token, the inbox's poll version)."""
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, headers={"User-Agent": USER_AGENT}) as client:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").text).group(1)
        answer = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
        if answer.status_code != 302:
            raise SystemExit(f"sign-in as {email} failed: HTTP {answer.status_code}")
        inbox = client.get("/inbox").text
        csrf = re.search(r'"X-CSRFToken": "([^"]+)"', inbox).group(1)
        version = re.search(r"/inbox/poll\?v=([^\"&]+)", inbox).group(1)
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items()), csrf, version


# -- the load --------------------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.examples: dict[str, str] = {}

    def add(self, route: str, seconds: float, status: int, body: bytes = b"") -> None:
        self.latencies[route].append(seconds)
        if status >= 400 or status == 0:
            self.errors[route] += 1
            self.examples.setdefault(route, f"HTTP {status}: {body[:160]!r}")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


class User:
    """One browser: a kept-alive connection, a signed-in session, and the inbox version it last saw."""

    def __init__(self, port: int, session: tuple[str, str, str], stats: Stats, rng: random.Random) -> None:
        self.port, self.stats, self.rng = port, stats, rng
        self.cookie, self.csrf, self.version = session
        self.reader = self.writer = None

    async def request(
        self, route: str, method: str, path: str, form: dict[str, str] | None = None, page: bool = False
    ) -> bytes:
        """One request as the browser makes it: a whole page (`page`), or an HTMX fragment."""
        body = urlencode(form).encode() if form is not None else b""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUser-Agent: {USER_AGENT}\r\n"
            f"Cookie: {self.cookie}\r\n"
        )
        head += "Accept: text/html\r\n" if page else f"HX-Request: true\r\nX-CSRFToken: {self.csrf}\r\n"
        if form is not None:
            head += f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        started = time.perf_counter()
        for _attempt in (1, 2):  # a browser re-sends once on a connection the server had closed
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            try:
                status, answer, close = await exchange(self.reader, self.writer, head.encode() + b"\r\n" + body)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                self.writer.close()
                self.writer = None
                continue
            if close:
                self.writer.close()
                self.writer = None
            self.stats.add(route, time.perf_counter() - started, status, answer)
            return answer
        self.stats.add(route, time.perf_counter() - started, 0, b"connection dropped twice")
        return b""

    async def act(self, action: str, conversations: list[int], broadcast: int) -> None:
        conversation = self.rng.choice(conversations)
        if action == "inbox list":
            await self.request("GET /inbox", "GET", "/inbox", page=True)
        elif action == "thread":
            await self.request("GET /inbox/<id>", "GET", f"/inbox/{conversation}")
        elif action == "inbox poll":
            answer = await self.request("GET /inbox/poll", "GET", f"/inbox/poll?v={quote(self.version)}")
            found = re.search(rb"/inbox/poll\?v=([^\"&]+)", answer)
            if found:
                self.version = found.group(1).decode()
        elif action == "reply":
            text = f"{self.rng.choice(BODIES)} ({uuid.uuid4().hex[:6]})"
            await self.request("POST /inbox/<id>/reply", "POST", f"/inbox/{conversation}/reply", {"body": text})
        elif action == "search":
            query = urlencode({"q": self.rng.choice(PREFIXES)})
            await self.request("GET /members?q=", "GET", f"/members?{query}")
            await self.request("GET /members/count?q=", "GET", f"/members/count?{query}")
        elif action == "dashboard":
            await self.request("GET /", "GET", "/", page=True)
            for chart in CHARTS:
                await self.request("GET /dashboard/charts/<name>", "GET", f"/dashboard/charts/{chart}")
        elif action == "progress":
            await self.request("GET /broadcasts/<id>/progress", "GET", f"/broadcasts/{broadcast}/progress")

    async def run(self, until: float, think: float, conversations: list[int], broadcast: int) -> None:
        actions, weights = zip(*MIX, strict=True)
        await asyncio.sleep(self.rng.uniform(0, max(think, 0.05) * 2))  # users do not all start at once
        while time.perf_counter() < until:
            await self.act(self.rng.choices(actions, weights)[0], conversations, broadcast)
            if think:
                await asyncio.sleep(self.rng.uniform(0, 2 * think))
        if self.writer is not None:
            self.writer.close()


def receipt(number: str) -> bytes:
    payload = {
        "id": f"load-{number}",
        "direction": "outbound",
        "from": {"phone_number": CHURCH_NUMBER},
        "to": [{"phone_number": number, "status": "delivered"}],
        "parts": 1,
        "cost": {"amount": "0.0040", "currency": "USD"},
        "errors": [],
        "completed_at": "2026-01-01T00:00:01.000+00:00",
    }
    event = {
        "record_type": "event",
        "id": str(uuid.uuid4()),
        "event_type": "message.finalized",
        "occurred_at": "2026-01-01T00:00:01.000+00:00",
        "payload": payload,
    }
    return json.dumps({"data": event, "meta": {"attempt": 1}}).encode()


async def webhooks(port: int, key, numbers: list[str], rate: float, until: float, stats: Stats) -> set[str]:
    """Signed receipts at `rate` per second from 4 connections; the numbers answered 2xx."""
    answered: set[str] = set()
    bodies = [(n, receipt(n)) for n in numbers]
    rng = random.Random(3)
    queue: asyncio.Queue = asyncio.Queue()

    async def post() -> None:
        reader = writer = None
        while True:
            number, body = await queue.get()
            signed = "".join(f"{k}: {v}\r\n" for k, v in sign_telnyx(body, key, int(time.time())).items())
            head = (
                f"POST /webhooks/telnyx HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n{signed}\r\n"
            )
            started = time.perf_counter()
            for _attempt in (1, 2):  # Telnyx re-sends on a dropped connection
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                try:
                    status, answer, close = await exchange(reader, writer, head.encode() + body)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    writer.close()
                    writer = None
                    continue
                if close:
                    writer.close()
                    writer = None
                stats.add("POST /webhooks/telnyx", time.perf_counter() - started, status, answer)
                if 200 <= status < 300:
                    answered.add(number)
                break
            queue.task_done()

    posters = [asyncio.create_task(post()) for _ in range(4)]
    sent = 0
    started = time.perf_counter()
    while time.perf_counter() < until and sent < len(bodies):
        due = int((time.perf_counter() - started) * rate)
        while sent < min(due, len(bodies)):
            queue.put_nowait(bodies[sent])
            if rng.random() < 0.05:  # a re-delivery, as Telnyx retries
                queue.put_nowait(bodies[rng.randrange(sent + 1)])
            sent += 1
        await asyncio.sleep(0.01)
    await queue.join()
    for task in posters:
        task.cancel()
    return answered


def exactly_once(db_url: str, broadcast: int, answered: set[str], wait: float = 120) -> str:
    """Wait for the worker to drain, then compare what was answered 2xx with what was applied."""
    deadline = time.monotonic() + wait
    with psycopg.connect(plain(db_url), autocommit=True) as conn:
        while time.monotonic() < deadline:
            pending = conn.execute("SELECT count(*) FROM webhook_events WHERE processed_at IS NULL").fetchone()[0]
            if not pending:
                break
            time.sleep(0.5)
        delivered = {
            r[0]
            for r in conn.execute(
                "SELECT to_e164 FROM broadcast_recipients WHERE broadcast_id = %s AND status = 'delivered'",
                (broadcast,),
            )
        }
        counted = conn.execute("SELECT delivered_count FROM broadcasts WHERE id = %s", (broadcast,)).fetchone()[0]
    ok = delivered == answered and counted == len(delivered)
    return (
        f"webhooks: {len(answered)} receipts answered 2xx; {len(delivered)} recipients delivered, "
        f"delivered_count {counted}, {pending} events unprocessed -> {'exactly once: OK' if ok else 'MISMATCH'}"
    )


def report(stats: Stats, seconds: float) -> None:
    total = sum(len(v) for v in stats.latencies.values())
    print()
    print(f"{'route':<32}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}")
    for route in sorted(stats.latencies, key=lambda r: -len(stats.latencies[r])):
        values = stats.latencies[route]
        print(
            f"{route:<32}{len(values):>9}{len(values) / seconds:>8.1f}{pct(values, 50):>9.1f}{pct(values, 95):>9.1f}"
            f"{pct(values, 99):>9.1f}{max(values) * 1000:>9.0f}{stats.errors[route]:>8}"
        )
    everything = [v for values in stats.latencies.values() for v in values]
    errors = sum(stats.errors.values())
    print(
        f"{'all':<32}{total:>9}{total / seconds:>8.1f}{pct(everything, 50):>9.1f}{pct(everything, 95):>9.1f}"
        f"{pct(everything, 99):>9.1f}{max(everything) * 1000:>9.0f}{errors:>8}"
    )
    print(f"\nerrors: {errors} (goal: 0)")
    for route, example in stats.examples.items():
        print(f"  {route}: e.g. {example}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse", action="store_true", help="skip building: run on the database already built")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--think", type=float, default=0.5, help="mean seconds a user waits between actions")
    parser.add_argument("--webhooks-per-second", type=float, default=50.0)
    args = parser.parse_args()

    from app.delivery.simulator import load_or_create_key

    db_url = database_url(DB_NAME)
    base, _, _ = (os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:63809/0").rpartition("/")
    port, sim_port = free_port(), free_port()
    work = tempfile.mkdtemp(prefix="koinonia-load-")
    key_file = f"{work}/simulator.key"
    key = load_or_create_key(key_file)
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": f"{base}/12",
        "SECRET_KEY": "bench-secret-key-0123456789",
        "KOINONIA_ENV": "development",
        "LOG_FORMAT": "console",
        "LOG_LEVEL": "WARNING",
        "SLOW_QUERY_MS": "100000",
        "SMS_PROVIDER": "simulator",
        "APP_BASE_URL": f"http://127.0.0.1:{port}",
        "TELNYX_API_BASE": f"http://127.0.0.1:{sim_port}/v2",
        "SIM_WEBHOOK_URL": f"http://127.0.0.1:{port}/webhooks/telnyx",
        "TELNYX_PUBLIC_KEY": public_key_b64(key),
        "PROMETHEUS_MULTIPROC_DIR": f"{work}/metrics",
        "PYTHONUNBUFFERED": "1",
    }
    if not args.reuse:
        build(env, db_url)
    import redis

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()  # the bench's own database: sign-in limits start afresh
    with psycopg.connect(plain(db_url), autocommit=True) as conn:  # receipts from an earlier run undone
        conn.execute(
            "UPDATE broadcast_recipients SET status = 'sent', delivered_at = NULL "
            "WHERE provider_message_id LIKE 'load-%' AND status <> 'sent'"
        )
        conn.execute(
            f"UPDATE broadcasts SET delivered_count = 0, sent_count = {RECIPIENTS} WHERE body LIKE 'Load test:%'"
        )
    conversations, broadcast, numbers = facts(db_url)
    procs = start(env, port, sim_port, key_file, work)
    try:
        emails = ["admin@example.org"] + [f"load-admin-{i}@example.org" for i in range(1, ADMINS)]
        sessions = [sign_in(port, email) for email in emails]
        print(
            f"{args.users} users for {args.seconds:.0f}s (think {args.think}s mean), "
            f"{args.webhooks_per_second:.0f} signed webhooks/s alongside; gunicorn per gunicorn.conf.py "
            f"(WEB_CONCURRENCY={os.environ.get('WEB_CONCURRENCY', 'default')}), worker.py beside it; "
            f"load average before: {os.getloadavg()[0]:.2f}; logs in {work}",
            flush=True,
        )
        stats = Stats()
        rng = random.Random(11)
        users = [User(port, sessions[i % len(sessions)], stats, random.Random(rng.random())) for i in range(args.users)]

        async def run() -> set[str]:
            until = time.perf_counter() + args.seconds
            hooks = asyncio.create_task(webhooks(port, key, numbers, args.webhooks_per_second, until, stats))
            await asyncio.gather(*(u.run(until, args.think, conversations, broadcast) for u in users))
            return await hooks

        started = time.perf_counter()
        answered = asyncio.run(run())
        elapsed = time.perf_counter() - started
        load_after = os.getloadavg()[0]
        report(stats, elapsed)
        print(f"load average at the end: {load_after:.2f} on {os.cpu_count()} cores")
        print(exactly_once(db_url, broadcast, answered))
    finally:
        stop(procs)


if __name__ == "__main__":
    main()
