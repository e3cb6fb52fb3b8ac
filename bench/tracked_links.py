"""Tracked links: server time of `GET /l/<code>` under gunicorn as `make dev` runs it, against a bare Flask 302.

    .venv/bin/python bench/tracked_links.py -n 10000 --requests 20000 --concurrency 4

Creates its own database (koinonia_bench_links on the test server) with a tracked broadcast of
n recipients and two links, made through the real set-based path (the time to make the codes is
printed), then starts gunicorn with gunicorn.conf.py and make dev's defaults (gthread, workers
min(4, 2 x cores), 4 threads) and asks for random codes from `--concurrency` kept-alive
connections with a phone's User-Agent. Server time is gunicorn's own request time (%(D)s in
the access log): from the request read to the answer written, in the worker. The same load then
goes to bench/bare_redirect_app.py (Flask and a 302, nothing else) under the same settings.
Prints p50/p95/p99 of both, their ratio, the workers' CPU per request (which load from other
processes does not inflate), the clicks drained afterwards, and `uptime` load before and after.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from delivery_throughput import database_url, recreate_database  # noqa: E402
from httpload import exchange  # noqa: E402
from simulator_throughput import free_port, wait_http  # noqa: E402
from webhook_intake import children, cpu_seconds  # noqa: E402

NUMBER = "+13125557777"
LINKS = "Grace: Easter at https://grace.example.org/easter?from=sms and grace.church/kids"


def setup(n: int) -> tuple[list[str], float]:
    """A church, a tracked broadcast to n recipients; returns its codes and the seconds codes took."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app
    from app.broadcasts.tracked_links import spans
    from app.extensions import db
    from app.links.codes import attach

    app = create_app()
    with app.app_context():
        upgrade()
        church_id = db.session.scalar(
            text(
                "INSERT INTO churches (name, slug, timezone) VALUES ('Bench Links', 'bench-links', 'UTC') RETURNING id"
            )
        )
        broadcast_id = db.session.scalar(
            text(
                "INSERT INTO broadcasts (church_id, body, status, from_number, recipient_count, track_links) "
                "VALUES (:c, :body, 'sent', :n, :k, true) RETURNING id"
            ),
            {"c": church_id, "body": LINKS, "n": NUMBER, "k": n},
        )
        db.session.execute(
            text(
                "INSERT INTO broadcast_recipients (church_id, broadcast_id, to_e164, status) "
                "SELECT :c, :b, '+1555' || lpad(g::text, 7, '0'), 'sent' FROM generate_series(1, :k) g"
            ),
            {"c": church_id, "b": broadcast_id, "k": n},
        )
        t0 = time.perf_counter()
        attach(church_id, broadcast_id, [(s.start, s.end, s.url) for s in spans(LINKS)])
        db.session.commit()
        made = time.perf_counter() - t0
        db.session.execute(text("ANALYZE link_codes; ANALYZE tracked_links"))
        db.session.commit()
        codes = list(db.session.scalars(text("SELECT code FROM link_codes")))
    return codes, made


def load(port: int, paths: list[str], concurrency: int) -> tuple[float, dict[int, int]]:
    """GET every path from `concurrency` kept-alive connections; (wall seconds, count by status)."""
    agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
    requests = [f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {agent}\r\n\r\n".encode() for p in paths]
    statuses: dict[int, int] = {}
    cursor = iter(requests)

    async def run() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for request in cursor:
            status, _, close = await exchange(reader, writer, request)
            statuses[status] = statuses.get(status, 0) + 1
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()

    async def main() -> None:
        await asyncio.gather(*(run() for _ in range(concurrency)))

    t0 = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - t0, statuses


def server_times(log: Path) -> list[float]:
    """Milliseconds per /l/ request from the access log lines written as "<path> <status> <micros>"."""
    found = []
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith("/l/"):
            found.append(int(parts[2]) / 1000)
    return found


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100)[p - 1]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def measure(target: str, env: dict, paths: list[str], concurrency: int, warmup: list[str]) -> tuple[list[float], float]:
    """Start gunicorn on `target`, warm it, run the load; (server times in ms, worker CPU ms per request)."""
    port = free_port()
    log = Path(tempfile.mkdtemp()) / "access.log"
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"]
    command += ["--access-logfile", str(log), "--access-logformat", "%(U)s %(s)s %(D)s", "--pythonpath", "bench"]
    web = subprocess.Popen([*command, target], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/l/warmup000", timeout=180)
        load(port, warmup, concurrency)  # every worker and thread connected, imported, warm
        time.sleep(0.5)
        log.write_text("")
        workers = children(web.pid)
        before = {pid: cpu_seconds(pid) for pid in workers}
        wall, statuses = load(port, paths, concurrency)
        cpu = sum(cpu_seconds(pid) - before[pid] for pid in workers) / len(paths) * 1000
        time.sleep(0.5)
        print(
            f"  {target}: {len(paths)} requests in {wall:.2f}s = {len(paths) / wall:,.0f}/s, statuses {statuses}, "
            f"worker CPU {cpu:.2f} ms/request"
        )
        return server_times(log), cpu
    finally:
        web.terminate()
        try:
            web.wait(timeout=60)
        except subprocess.TimeoutExpired:
            web.kill()
            web.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=10_000, help="recipients of the tracked broadcast")
    parser.add_argument("--requests", type=int, default=20_000)
    # One request in flight per gunicorn worker by default: more only measures GIL and run-queue waits.
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:63809/13"))
    args = parser.parse_args()

    db_url = database_url("koinonia_bench_links")
    recreate_database(db_url)
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": "bench-secret-key-0123456789",
        "KOINONIA_ENV": "development",
        "LOG_FORMAT": "console",
        "LOG_LEVEL": "WARNING",
        "SLOW_QUERY_MS": "100000",
        # One client address asks for everything here; the limiter still does its Redis work.
        "LINK_RATE_LIMIT": "100000000 per minute",
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(),
    }
    for key in ("WEB_CONCURRENCY", "GUNICORN_THREADS"):
        env.pop(key, None)  # make dev's defaults
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "KOINONIA_ENV", "LOG_LEVEL")})
    codes, made = setup(args.n)
    print(f"codes: {len(codes):,} made set-based for {args.n:,} recipients x 2 links in {made * 1000:.0f} ms")
    import redis

    from app.links.clicks import KEY

    client = redis.Redis.from_url(args.redis_url)
    client.flushdb()
    paths = [f"/l/{random.choice(codes)}" for _ in range(args.requests)]
    warmup = [f"/l/{random.choice(codes)}" for _ in range(500)]
    print(f"load before: {uptime()}")
    ours, ours_cpu = measure("wsgi:app", env, paths, args.concurrency, warmup)
    queued = client.llen(KEY)
    bare, bare_cpu = measure("bare_redirect_app:app", env, paths, args.concurrency, warmup)
    print(f"load after:  {uptime()}")
    print(f"gunicorn gthread, workers min(4, 2 x {os.cpu_count()} cores), 4 threads; {args.concurrency} connections")
    for name, times in (("/l/<code> (Koinonia)", ours), ("bare Flask 302", bare)):
        print(
            f"  {name:22} server time p50 {pct(times, 50):.2f} ms, p95 {pct(times, 95):.2f} ms, "
            f"p99 {pct(times, 99):.2f} ms ({len(times)} requests)"
        )
    print("  ratio Koinonia / bare: " + ", ".join(f"p{p} {pct(ours, p) / pct(bare, p):.1f}x" for p in (50, 95, 99)))
    t0 = time.perf_counter()
    os.environ["REDIS_URL"] = args.redis_url
    from app import create_app
    from app.links.clicks import drain

    with create_app().app_context():
        drained = drain()
    print(
        f"  clicks queued in Redis {queued:,} (incl. warm-up); drained {drained:,} in {time.perf_counter() - t0:.2f}s"
    )


if __name__ == "__main__":
    main()
