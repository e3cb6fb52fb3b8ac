"""Partition broadcast_recipients by month, or delete past a retention window? Measured.

Every status webhook looks a recipient up by its provider message id (several per text sent).
This bench builds the same rows twice in a scratch database, once as a plain table with a unique
index on the id (what Koinonia has) and once partitioned by month on created_at (the partitioned
table cannot keep the id unique by itself: its unique keys must hold the month), then times the
lookup the status path makes, one at a time over one connection, as the partitions multiply.

    make bench ARGS='retention_choice'            500,000 rows over 24 months
    make bench ARGS='retention_choice --rows 2000000 --months 36'

It prints p50/p95 per lookup for each table and the ratio. The choice it supports is written in
app/retention.py: detail is deleted past a retention setting, not partitioned.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg

DEFAULT_SERVER = "postgresql://koinonia:koinonia@127.0.0.1:54339/koinonia"
NAME = "koinonia_bench_retention_choice"


def _url(database: str) -> str:
    server = (os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER).replace("postgresql+psycopg://", "postgresql://")
    return urlunsplit(urlsplit(server)._replace(path=f"/{database}"))


def build(conn: psycopg.Connection, rows: int, months: int) -> None:
    conn.execute("DROP TABLE IF EXISTS plain, by_month")
    body = (
        "id bigint NOT NULL, broadcast_id bigint NOT NULL, provider_message_id text, status text, "
        "created_at timestamptz NOT NULL"
    )
    conn.execute(f"CREATE TABLE plain ({body})")
    conn.execute(f"CREATE TABLE by_month ({body}) PARTITION BY RANGE (created_at)")
    for m in range(months):
        conn.execute(
            f"CREATE TABLE by_month_{m} PARTITION OF by_month FOR VALUES FROM "
            f"(date '2024-01-01' + interval '{m} month') TO (date '2024-01-01' + interval '{m + 1} month')"
        )
    fill = (
        "INSERT INTO {t} SELECT g, g / 1000, 'msg-' || g, 'delivered', "
        "date '2024-01-01' + ((g %% %(months)s) || ' month')::interval + (g %% 86400) * interval '1 second' "
        "FROM generate_series(1, %(rows)s) g"
    )
    for table in ("plain", "by_month"):
        conn.execute(fill.replace("{t}", table), {"rows": rows, "months": months})
    conn.execute("CREATE UNIQUE INDEX ON plain (provider_message_id)")
    # The nearest a partitioned table gets: unique per month, so a lookup without the month probes each.
    conn.execute("CREATE UNIQUE INDEX ON by_month (provider_message_id, created_at)")
    conn.execute("VACUUM ANALYZE plain")
    conn.execute("VACUUM ANALYZE by_month")


def timed(conn: psycopg.Connection, table: str, ids: list[str]) -> list[float]:
    query = f"SELECT id, status FROM {table} WHERE provider_message_id = %s"
    out = []
    for pid in ids:
        started = time.perf_counter()
        conn.execute(query, (pid,)).fetchone()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--lookups", type=int, default=3000)
    args = parser.parse_args()
    with psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{NAME}"')
    with psycopg.connect(_url(NAME), autocommit=True) as conn:
        started = time.perf_counter()
        build(conn, args.rows, args.months)
        print(f"built {args.rows:,} rows twice in {time.perf_counter() - started:.1f} s ({args.months} months)")
        rng = random.Random(7)
        ids = [f"msg-{rng.randint(1, args.rows)}" for _ in range(args.lookups)]
        timed(conn, "plain", ids[:200])  # warm both
        timed(conn, "by_month", ids[:200])
        figures = {}
        for table in ("plain", "by_month"):
            samples = timed(conn, table, ids)
            figures[table] = (statistics.median(samples), statistics.quantiles(samples, n=20)[18])
        load = os.getloadavg()[0]
    print(f"lookup by provider id, {args.lookups:,} one at a time (load average {load:.2f}, {os.cpu_count()} cores):")
    for table, (p50, p95) in figures.items():
        print(f"  {table:9s} p50 {p50:.3f} ms  p95 {p95:.3f} ms")
    (p50_plain, p95_plain), (p50_part, p95_part) = figures["plain"], figures["by_month"]
    print(f"  partitioned / plain: p50 {p50_part / p50_plain:.1f}x, p95 {p95_part / p95_plain:.1f}x")
    with psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()
