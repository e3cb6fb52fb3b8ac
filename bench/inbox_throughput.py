"""Inbox throughput at 50,000 conversations and 2,000,000 messages, against a bare Flask + Jinja page.

    .venv/bin/python bench/inbox_throughput.py                 # build the data, then measure
    .venv/bin/python bench/inbox_throughput.py --reuse         # measure again on the data already built
    .venv/bin/python bench/inbox_throughput.py --seconds 20 --connections 32

Builds its own database (koinonia_bench_inbox on the test server: TEST_DATABASE_URL's server, or
postgresql://koinonia:koinonia@127.0.0.1:54339), migrates it, seeds the demo churches, then adds
50,000 members with one conversation each and 40 messages per conversation in one church, all
set-based with generate_series. It then serves, under gunicorn with the same worker settings:
the real app (signed in through the login form as the demo owner), and a bare Flask app that
renders a 50-row table with Jinja. A small keep-alive HTTP/1.1 load generator (asyncio, raw
sockets, so that the client costs as little CPU as possible on a small machine) drives each page
with 32 concurrent connections and prints requests/s, p50 and p99, and the ratios to the bare
page. It asserts nothing. Targets: inbox list and thread >= 0.6x the bare page's requests/s,
p99 <= 1.5x the bare page's p99.

The thread page is measured on 2,000 different conversations. Before the rounds, each of them is
opened once ("first view", printed on its own line): that renders its pane, which the church's staff
then share until the conversation changes or the pane expires (10 min). The rounds measure that steady
state, with panes expiring and re-rendering as they go.

    .venv/bin/python bench/inbox_throughput.py --reuse --only thread     # the bare page and the thread
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from httpload import exchange  # noqa: E402

from app.cache import version_key  # noqa: E402

DB_NAME = "koinonia_bench_inbox"
DEFAULT_SERVER = "postgresql+psycopg://koinonia:koinonia@127.0.0.1:54339/koinonia"
CONVERSATIONS = 50_000
MESSAGES_PER_CONVERSATION = 40
WARMUP = 1.0  # seconds of each round not measured (connections open, caches fill)
OWNER = ("admin@example.org", "koinonia-demo")
USER_AGENT = "koinonia-bench/1"
MEDIA = '[{"url": "https://media.example.net/p.jpg", "content_type": "image/jpeg"}]'


def server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER


def bench_url() -> str:
    return urlunsplit(urlsplit(server_url())._replace(path=f"/{DB_NAME}"))


def plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def app_env() -> dict[str, str]:
    base, _, _ = (os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:63809/0").rpartition("/")
    return {
        **os.environ,
        "DATABASE_URL": bench_url(),
        "REDIS_URL": f"{base}/13",
        "SECRET_KEY": "bench-secret-key-0123456789",
        "KOINONIA_ENV": "development",
        "LOG_FORMAT": "console",
        "LOG_LEVEL": "WARNING",
        "SLOW_QUERY_MS": "100000",
        "SMS_PROVIDER": "simulator",
    }


# -- data ------------------------------------------------------------------------------------

BODIES = [
    "Is youth group still meeting this Friday?",
    "Yes, 7pm in the fellowship hall. See you there!",
    "Can I bring a friend?",
    "Of course, everyone is welcome.",
    "Thanks for the prayer, my mom is doing better.",
    "We are praying for her every day.",
    "What time does the second service start?",
    "11:15am, and there is coffee in the lobby before.",
]


def build() -> None:
    """Recreate the database, migrate, seed, then add the bulk data set-based."""
    t0 = time.perf_counter()
    with psycopg.connect(plain(server_url()), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    env = app_env()
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "seed-demo"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"migrated and seeded in {time.perf_counter() - t0:.1f}s", flush=True)
    bodies = "ARRAY[" + ", ".join("'" + b.replace("'", "''") + "'" for b in BODIES) + "]"
    steps = [
        (
            "members",
            f"""
            INSERT INTO members (church_id, first_name, last_name, phone_e164, consent_source, consent_at, opted_out_at)
            SELECT c.id,
                   (ARRAY['Grace','Samuel','Ruth','David','Esther','Daniel','Mary','Joshua','Hannah','Caleb',
                          'Naomi','Isaac','Lydia','Elijah','Miriam'])[1 + i % 15],
                   (ARRAY['Okafor','Johnson','Nguyen','Garcia','Mensah','Smith','Kim','Adeyemi','Lopez',
                          'Brown','Wilson','Osei','Martinez','Davis','Chen','Taylor','Boateng'])[1 + (i / 15) % 17],
                   '+1630' || lpad(i::text, 7, '0'), 'form', now() - interval '90 days',
                   CASE WHEN i % 53 = 0 THEN now() - interval '3 days' END
            FROM churches c, generate_series(1, {CONVERSATIONS}) AS i
            WHERE c.slug = 'grace-community-church'
        """,
        ),
        (
            "conversations",
            f"""
            INSERT INTO conversations (church_id, member_id, phone_number_id, status, assignee_id, unread_count,
                                       last_message_at, last_message_preview, last_inbound_at, created_at)
            SELECT m.church_id, m.id, p.id,
                   CASE WHEN m.id % 10 = 0 THEN 'closed' WHEN m.id % 20 = 1 THEN 'archived' ELSE 'open' END,
                   CASE WHEN m.id % 7 = 0 THEN u.id END,
                   CASE WHEN m.id % 50 = 0 THEN 2 ELSE 0 END,
                   now() - (m.id % {CONVERSATIONS}) * interval '41 seconds',
                   ({bodies})[1 + m.id % {len(BODIES)}],
                   now() - (m.id % {CONVERSATIONS}) * interval '41 seconds',
                   now() - interval '120 days'
            FROM members m
            JOIN phone_numbers p ON p.church_id = m.church_id AND p.e164 = '+13125550100'
            JOIN users u ON u.email = 'leader@example.org'
            WHERE m.phone_e164 LIKE '+1630%'
        """,
        ),
        ("messages (drop the trigram index while loading)", "DROP INDEX IF EXISTS ix_conversation_messages_body_trgm"),
        (
            "messages",
            f"""
            INSERT INTO conversation_messages (church_id, conversation_id, direction, body, media, status, created_at)
            SELECT c.church_id, c.id,
                   CASE WHEN g % 2 = 1 THEN 'in' ELSE 'out' END,
                   ({bodies})[1 + (c.id + g) % {len(BODIES)}],
                   CASE WHEN g % 17 = 0 THEN '{MEDIA}'::jsonb ELSE '[]'::jsonb END,
                   CASE WHEN g % 2 = 1 THEN 'received' ELSE 'delivered' END,
                   c.last_message_at - ({MESSAGES_PER_CONVERSATION} - g) * interval '7 minutes'
            FROM conversations c, generate_series(1, {MESSAGES_PER_CONVERSATION}) AS g
            WHERE c.member_id IN (SELECT id FROM members WHERE phone_e164 LIKE '+1630%')
        """,
        ),
        (
            "trigram index on message text",
            "CREATE INDEX ix_conversation_messages_body_trgm ON conversation_messages USING gin (body gin_trgm_ops)",
        ),
        ("analyze", "ANALYZE"),
    ]
    with psycopg.connect(plain(bench_url()), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '256MB'")
        for name, sql in steps:
            t = time.perf_counter()
            conn.execute(sql)
            print(f"  {name}: {time.perf_counter() - t:.1f}s", flush=True)
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM conversations), (SELECT count(*) FROM conversation_messages)"
        ).fetchone()
    print(f"built {counts[0]:,} conversations, {counts[1]:,} messages in {time.perf_counter() - t0:.1f}s", flush=True)


# -- the bare comparison app ---------------------------------------------------------------------


def bare_app():
    """A Flask app rendering a 50-row table with Jinja: the baseline page."""
    from flask import Flask, render_template_string

    app = Flask("bare")
    rows = [
        {
            "name": f"Member {i}",
            "preview": BODIES[i % len(BODIES)],
            "time": f"{i % 12 + 1}:{i % 60:02d} PM",
            "who": "Jo",
        }
        for i in range(50)
    ]
    page = """<!doctype html><html><head><title>Bare</title></head><body><main><h1>Inbox</h1>
<table>{% for r in rows %}<tr><td><a href="/c/{{ loop.index }}">{{ r.name }}</a></td><td>{{ r.preview }}</td>
<td>{{ r.time }}</td><td>{{ r.who }}</td></tr>{% endfor %}</table></main></body></html>"""

    @app.get("/")
    def index():
        return render_template_string(page, rows=rows)

    return app


# -- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"port {port} did not open within {timeout}s")


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Until the app answers (workers import the app after the port opens)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=5).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout}s")


def gunicorn(app_spec: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    """gunicorn with the same process model for both apps (gthread, WEB_CONCURRENCY workers)."""
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
        app_spec,
    ]
    env = {**app_env(), "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}"}
    # cwd=ROOT: gunicorn also reads ./gunicorn.conf.py (hooks, timeouts) for both apps alike.
    # Its log goes to a file: the config's shutdown hooks are noisy when the bench stops it.
    log = open(f"/tmp/koinonia_bench_inbox_{port}.log", "w")  # noqa: SIM115 - lives as long as the server
    print(f"  {app_spec} on :{port}, log {log.name}", flush=True)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT)
    wait_port(port, proc)
    wait_http(f"http://127.0.0.1:{port}/health" if app_spec.startswith("wsgi") else f"http://127.0.0.1:{port}/", proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        proc.kill()


def sign_in(port: int) -> str:
    """Log in through the real form; returns the Cookie header value."""
    import httpx

    # The load client sends the same User-Agent: as for a browser, the session's identity (Flask-Login
    # hashes address and agent) then matches, and the cookie is not re-signed on every answer.
    headers = {"User-Agent": USER_AGENT}
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", follow_redirects=False, timeout=30, headers=headers
    ) as client:
        page = client.get("/login").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
            r'value="([^"]+)"[^>]*name="csrf_token"', page
        )
        data = {"email": OWNER[0], "password": OWNER[1], "csrf_token": token.group(1) if token else ""}
        response = client.post("/login", data=data)
        if response.status_code not in (302, 303):
            raise SystemExit(f"sign-in failed: HTTP {response.status_code}")
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


# -- load generator --------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    requests: int = 0
    errors: int = 0  # HTTP 4xx/5xx answers
    resets: int = 0  # connections dropped mid-request (gunicorn recycles workers every max_requests)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        values = sorted(self.latencies)
        return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


async def _connection(
    port: int, paths: list[str], cookie: str, until: float, warm: float, result: Result, once: bool = False
) -> None:
    """Requests on one keep-alive connection: random paths until `until`, or (`once`) each path of the
    shared list once, popped from it."""
    reader = writer = None
    rng = random.Random()
    while time.perf_counter() < until and (paths or not once):
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        path = paths.pop() if once else paths[rng.randrange(len(paths))]
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {USER_AGENT}\r\n"
            f"Cookie: {cookie}\r\nAccept: text/html\r\n\r\n"
        )
        started = time.perf_counter()
        try:
            status, _, close = await exchange(reader, writer, request.encode())
        except (OSError, asyncio.IncompleteReadError, ValueError):
            result.resets += 1
            writer = None
            continue
        finished = time.perf_counter()
        if started >= warm:
            result.requests += 1
            result.latencies.append(finished - started)
            if status >= 400 and status != 404:
                result.errors += 1
        if close:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


def load(name: str, port: int, paths: list[str], cookie: str, connections: int, seconds: float) -> Result:
    """`connections` keep-alive connections hammering `paths` for `seconds` (after a short warm-up)."""
    result = Result(name)

    async def main() -> None:
        now = time.perf_counter()
        warm, until = now + WARMUP, now + WARMUP + seconds
        await asyncio.gather(*(_connection(port, paths, cookie, until, warm, result) for _ in range(connections)))

    asyncio.run(main())
    result.seconds = seconds
    return result


def load_once(name: str, port: int, paths: list[str], cookie: str, connections: int) -> Result:
    """Each path requested once, over `connections` keep-alive connections; no warm-up."""
    result = Result(name)
    todo = list(paths)

    async def main() -> None:
        now = time.perf_counter()
        await asyncio.gather(
            *(_connection(port, todo, cookie, now + 3600, now, result, once=True) for _ in range(connections))
        )

    started = time.perf_counter()
    asyncio.run(main())
    result.seconds = time.perf_counter() - started
    return result


def conversation_ids(n: int) -> list[int]:
    with psycopg.connect(plain(bench_url())) as conn:
        rows = conn.execute(
            # Read ones: opening an unread thread marks it read, which bumps the inbox version.
            "SELECT id FROM conversations WHERE status = 'open' AND unread_count = 0 "
            "ORDER BY last_message_at DESC LIMIT 5000"
        ).fetchall()
    ids = [r[0] for r in rows]
    random.Random(7).shuffle(ids)
    return ids[:n]


def report(results: list[Result], bare: Result, first_views: Result | None = None) -> None:
    print()
    header = ("page", "req/s", "p50 ms", "p99 ms", "errors", "resets", "rps x bare", "p99 x bare")
    print(f"{header[0]:<28}" + "".join(f"{h:>9}" for h in header[1:6]) + "".join(f"{h:>12}" for h in header[6:]))
    for r in results:
        print(
            f"{r.name:<28}{r.rps:>9.0f}{r.pct(50):>9.1f}{r.pct(99):>9.1f}{r.errors:>9}{r.resets:>9}"
            f"{r.rps / bare.rps:>12.2f}{r.pct(99) / bare.pct(99):>12.2f}"
        )
    if first_views is not None:
        r = first_views
        print(
            f"{r.name:<28}{r.rps:>9.0f}{r.pct(50):>9.1f}{r.pct(99):>9.1f}{r.errors:>9}{r.resets:>9}"
            f"{r.rps / bare.rps:>12.2f}{r.pct(99) / bare.pct(99):>12.2f}"
            f"   ({r.requests} threads, each opened once before the rounds; not interleaved)"
        )
    print()
    for r in results:
        if r is bare or r.name.startswith(("poll", "app shell")):
            continue
        ok_rps = r.rps >= 0.6 * bare.rps
        ok_p99 = r.pct(99) <= 1.5 * bare.pct(99)
        verdict = "meets" if ok_rps and ok_p99 else "MISSES"
        print(
            f"{r.name}: {verdict} the target (>= 0.60x req/s: {r.rps / bare.rps:.2f}x, "
            f"<= 1.50x p99: {r.pct(99) / bare.pct(99):.2f}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse", action="store_true", help="skip building: measure on the existing database")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per page, over all rounds")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per page")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "4")))
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--only", default="", help="measure only pages whose name has this (and the bare page)")
    args = parser.parse_args()
    if not args.reuse:
        build()
    ids = conversation_ids(2000)
    real_port, bare_port = free_port(), free_port()
    print(
        f"gunicorn: {args.workers} workers x {args.threads} threads (gthread) for both apps; "
        f"{args.connections} connections, {args.seconds:.0f}s per page in {args.rounds} interleaved rounds",
        flush=True,
    )
    real = gunicorn("wsgi:app", real_port, args.workers, args.threads)
    bare_proc = gunicorn("inbox_throughput:bare_app()", bare_port, args.workers, args.threads)
    try:
        cookie = sign_in(real_port)
        import redis

        client = redis.Redis.from_url(app_env()["REDIS_URL"])
        church = (
            psycopg.connect(plain(bench_url()))
            .execute("SELECT id FROM churches WHERE slug = 'grace-community-church'")
            .fetchone()[0]
        )
        version = (client.get(version_key(("conversation", church))) or b"0").decode()
        # The app's own floor: a signed-in page with the layout (nav, billing banners) and nothing else.
        pages = [
            ("bare Flask+Jinja 50 rows", bare_port, ["/"], ""),
            ("app shell (404 in layout)", real_port, ["/no-such-page"], cookie),
            ("inbox list /inbox", real_port, ["/inbox"], cookie),
            ("thread page /inbox/<id>", real_port, [f"/inbox/{i}" for i in ids], cookie),
            ("poll, nothing new (204)", real_port, [f"/inbox/poll?{urlencode({'v': version})}"], cookie),
        ]
        pages = [p for p in pages if p[1] == bare_port or args.only in p[0]]
        first_views = None
        if any(name.startswith("thread") for name, *_ in pages):
            # Every thread of the run opened once, before the measured rounds: a first view renders
            # the pane (and caches it, for everyone in the church, until that conversation changes
            # or the pane expires after 10 min). The rounds then measure the steady state, panes
            # expiring and re-rendering as they go.
            first_views = load_once(
                "thread page, first view", real_port, [f"/inbox/{i}" for i in ids], cookie, args.connections
            )
        # Interleaved rounds, so that load from anything else on the machine falls on every page alike.
        totals = {name: Result(name) for name, *_ in pages}
        for _ in range(args.rounds):
            for name, port, paths, cookie_value in pages:
                r = load(name, port, paths, cookie_value, args.connections, args.seconds / args.rounds)
                total = totals[name]
                total.requests += r.requests
                total.errors += r.errors
                total.resets += r.resets
                total.seconds += r.seconds
                total.latencies += r.latencies
        results = list(totals.values())
        bare = results[0]
        report(results, bare, first_views)
    finally:
        stop(real)
        stop(bare_proc)


if __name__ == "__main__":
    main()
