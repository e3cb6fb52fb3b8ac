"""Member search directly and through PgBouncer (transaction mode): what server-side prepares and
SQLAlchemy's compiled-statement cache each buy.

    make bench ARGS='pooled_search'                    # 20,000 members, 300 searches per setting
    .venv/bin/python bench/pooled_search.py -n 100000 --runs 500

Builds bench/member_search.py's database (one church, `n` members), then times the service the
/members route calls (app.people.services.list_members) over a mix of searches, in two shapes:

- per request: each search in its own transaction, ended by a rollback, as a GET request ends.
  psycopg forgets its prepared statements on every ROLLBACK, so prepares never outlive a request;
- one transaction: all searches in one transaction, where psycopg prepares a statement after 5 runs.

for each setting: direct with psycopg's default prepare threshold (today's default), direct and
through PgBouncer with prepares off (DATABASE_POOLER=pgbouncer), and through PgBouncer with
SQLAlchemy's compiled cache off too (what the cache is worth). PgBouncer's address comes from
TEST_PGBOUNCER_URL (bench/run.sh starts one). Prints client-side p50/p95 per setting; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import member_search  # noqa: E402

KINDS = ("list, no search", "name prefix (3 letters)", 'phone last 4 ("0142")', "group filter + name")


def bouncer_url() -> str:
    base = os.environ.get("TEST_PGBOUNCER_URL")
    if not base:
        sys.exit("pooled_search: set TEST_PGBOUNCER_URL (make bench ARGS=pooled_search starts PgBouncer)")
    return urlunsplit(urlsplit(base)._replace(path=f"/{member_search.DB_NAME}"))


def make_app(url: str, pooler: str, compiled_cache: bool, prepare_threshold: object = "default"):
    from app import create_app
    from app.config import Config

    class Bench(Config):
        def settings(self, environ):
            return super().settings(dict(environ, DATABASE_URL=url, DATABASE_POOLER=pooler))

        def __init__(self, environ=None):
            super().__init__(environ)
            options = dict(self.SQLALCHEMY_ENGINE_OPTIONS)
            if not compiled_cache:
                options["query_cache_size"] = 0
            if prepare_threshold != "default":
                options["connect_args"] = {**options.get("connect_args", {}), "prepare_threshold": prepare_threshold}
            self.SQLALCHEMY_ENGINE_OPTIONS = options

    return create_app(Bench)


def time_searches(app, world: dict, runs: int, per_request: bool) -> list[float]:
    from app.extensions import db
    from app.models import User
    from app.people.queries import MemberFilters
    from app.people.services import list_members

    with app.app_context():
        owner = db.session.get(User, world["users"]["owner"])
        mix = member_search.query_mix(random.Random(7), world)
        makers = [mix[k] for k in KINDS]
        rng = random.Random(11)
        timings = []
        for i in range(runs + 20):  # the first 20 warm the pools and caches
            filters = MemberFilters.from_args(rng.choice(makers)())
            owner.role, owner.church.country  # noqa: B018 - a request has its user loaded already
            t0 = time.perf_counter()
            list_members(owner, filters, with_total=False)
            if per_request:
                db.session.rollback()
            elapsed = (time.perf_counter() - t0) * 1000
            if i >= 20:
                timings.append(elapsed)
        db.session.rollback()
        db.engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--members", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()
    direct, pooled = member_search.bench_url(), bouncer_url()

    member_search.recreate_database()
    builder = member_search.make_app()
    with builder.app_context():
        world = member_search.build(args.members)
        from app.extensions import db

        db.engine.dispose()

    settings = [
        ("direct, psycopg prepares after 5 runs", direct, "none", True, "default"),
        ("direct, no server-side prepares", direct, "none", True, None),
        ("PgBouncer, no server-side prepares", pooled, "pgbouncer", True, "default"),
        ("PgBouncer, no prepares, no compiled cache", pooled, "pgbouncer", False, "default"),
    ]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nmachine: {os.cpu_count()} cores, load average {load}; {args.runs} searches per line, client-side ms")
    try:
        for per_request in (True, False):
            shape = "per request (rollback after each)" if per_request else "one transaction"
            print(f"\n{shape:44} {'p50':>7} {'p95':>7} {'mean':>7}")
            for title, url, pooler, cache, threshold in settings:
                app = make_app(url, pooler, cache, threshold)
                ms = time_searches(app, world, args.runs, per_request)
                p50, p95 = member_search.percentile(ms, 50), member_search.percentile(ms, 95)
                print(f"{title:44} {p50:7.2f} {p95:7.2f} {statistics.fmean(ms):7.2f}")
    finally:
        if not args.keep:
            import psycopg

            admin = member_search.server_url().replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{member_search.DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()
