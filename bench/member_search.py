"""Member search at 100,000 members in one church: server time per query kind, and the plans.

    .venv/bin/python bench/member_search.py              # 100,000 members, 200 runs per kind
    .venv/bin/python bench/member_search.py -n 20000 --runs 50 --keep

Builds its own database (koinonia_bench_member_search on the test server: TEST_DATABASE_URL's
server, or postgresql://koinonia:koinonia@127.0.0.1:54339), migrates it, inserts the members
set-based with generate_series, then calls the very service the /members route calls
(app.people.services.list_members, inside an app context) for a mix of searches, and prints
p50/p95/p99 per kind (with and without the total count), then EXPLAIN ANALYZE of each kind's page
(one statement) and of a search's capped count. The target is judged on those figures. Last, for
reference, the same kinds as whole requests (GET /members as a keystroke sends it, through the
Flask test client): the search plus sign-in, rendering the rows and Flask's own work.
Prints figures only; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "koinonia_bench_member_search"
DEFAULT_SERVER = "postgresql+psycopg://koinonia:koinonia@127.0.0.1:54339/koinonia"
TARGET_P95_MS = 20.0

FIRST = (
    "Grace Samuel Ruth David Esther Daniel Mary Joshua Hannah Caleb Naomi Isaac Lydia Elijah Miriam Gideon "
    "Priscilla Levi Tabitha Micah Abigail Aaron Deborah Jonah Martha Peter Rebecca Stephen Sarah Thomas "
    "Chloe Andrew Phoebe James Leah Matthew Eunice Philip Joanna Silas"
).split()
LAST = (
    "Okafor Johnson Nguyen Garcia Mensah Smith Kim Adeyemi Lopez Brown Wilson Osei Martinez Davis Chen Taylor "
    "Boateng Clark Rivera Moore Anderson Thomas Jackson White Harris Martin Thompson Robinson Lewis Walker "
    "Young Allen King Wright Scott Torres Hill Green Adams Baker Nelson Carter Mitchell Perez Roberts Turner "
    "Phillips Campbell Parker Evans Edwards Collins Stewart Sanchez Morris Rogers Reed Cook Morgan Bell"
).split()


def server_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_SERVER


def bench_url() -> str:
    parts = urlsplit(server_url())
    return urlunsplit(parts._replace(path=f"/{DB_NAME}"))


def recreate_database() -> None:
    admin = server_url().replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def make_app():
    os.environ.update(
        {
            "DATABASE_URL": bench_url(),
            "REDIS_URL": os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:63809/15",
            "SECRET_KEY": "bench-secret-key-0123456789",
            "KOINONIA_ENV": "development",
            "LOG_FORMAT": "console",
            "LOG_LEVEL": "WARNING",
            "SLOW_QUERY_MS": "100000",
        }
    )
    from app import create_app

    return create_app()


def build(n: int) -> dict:
    """Migrate, then one church with `n` members, three groups and two branches, all set-based."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app.extensions import db

    upgrade()
    ins = db.session.execute
    new_church = text("INSERT INTO churches (name, slug, timezone) VALUES (:n, :s, 'America/Chicago') RETURNING id")
    church_id = ins(new_church, {"n": "Bench Church", "s": "bench"}).scalar_one()
    other_id = ins(new_church, {"n": "Other Church", "s": "other"}).scalar_one()
    users = {}
    for role in ("owner", "leader"):
        users[role] = ins(
            text("INSERT INTO users (church_id, email, role, password_hash) VALUES (:c, :e, :r, 'x') RETURNING id"),
            {"c": church_id, "e": f"{role}@bench.example", "r": role},
        ).scalar_one()
    branches = [
        ins(
            text("INSERT INTO branches (church_id, name) VALUES (:c, :n) RETURNING id"), {"c": church_id, "n": n_}
        ).scalar_one()
        for n_ in ("Downtown", "Northside")
    ]
    groups = {
        name: ins(
            text("INSERT INTO groups (church_id, name) VALUES (:c, :n) RETURNING id"), {"c": church_id, "n": name}
        ).scalar_one()
        for name in ("Everyone Sunday", "Youth", "Choir")
    }
    ins(
        text("INSERT INTO group_leaders (church_id, group_id, user_id) VALUES (:c, :g, :u)"),
        {"c": church_id, "g": groups["Youth"], "u": users["leader"]},
    )
    t0 = time.perf_counter()
    # Phones: i * a prime, mod 8e9, over 2e9: n distinct ten-digit NANP-shaped numbers, well spread.
    members_sql = """
        INSERT INTO members (church_id, first_name, last_name, phone_e164, email, branch_id, opted_out_at,
                             consent_source, consent_at, created_at)
        SELECT :church, f, l,
               '+1' || (2000000000 + (i::bigint * 104729) % 8000000000)::text,
               CASE WHEN i % 3 <> 0 THEN lower(f) || '.' || lower(l) || i || '@example.net' END,
               CASE i % 5 WHEN 0 THEN CAST(:b1 AS bigint) WHEN 1 THEN CAST(:b2 AS bigint) END,
               CASE WHEN i % 23 = 7 THEN now() - (i % 300) * interval '1 day' END,
               'import', now() - (i % 700) * interval '1 day',
               now() - (:n - i) * interval '1 minute'
        FROM generate_series(1, :n) AS i,
             LATERAL (SELECT (CAST(:first AS text[]))[1 + (i * 7) % cardinality(CAST(:first AS text[]))] AS f,
                             (CAST(:last AS text[]))[1 + (i * 13 + i / 97) % cardinality(CAST(:last AS text[]))] AS l) n
    """
    params = {"church": church_id, "first": FIRST, "last": LAST, "n": n, "b1": branches[0], "b2": branches[1]}
    ins(text(members_sql), params)
    # A little second tenant, so church_id filters have something to filter.
    ins(text(members_sql), {**params, "church": other_id, "n": max(n // 20, 10), "b1": None, "b2": None})
    memberships = """
        INSERT INTO group_members (church_id, group_id, member_id)
        SELECT :church, :g, id FROM members WHERE church_id = :church AND id % :every = 0
    """
    for name, every in (("Everyone Sunday", 2), ("Youth", 8), ("Choir", 40)):
        ins(text(memberships), {"church": church_id, "g": groups[name], "every": every})
    db.session.commit()
    insert_s = time.perf_counter() - t0
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE members")
        conn.exec_driver_sql("VACUUM ANALYZE group_members")
        conn.exec_driver_sql("VACUUM ANALYZE group_leaders")
    print(f"built {n:,} members (+{max(n // 20, 10):,} in another church) in {insert_s:.1f}s (generate_series INSERT)")
    return {"church_id": church_id, "users": users, "groups": groups, "branches": branches}


def query_mix(rng: random.Random, world: dict) -> dict[str, Callable[[], dict]]:
    """Each kind makes the ?q=&group=… a person would send."""
    from sqlalchemy import text

    from app.extensions import db

    sample = db.session.execute(
        text("SELECT phone_e164, email FROM members WHERE church_id = :c ORDER BY random() LIMIT 500"),
        {"c": world["church_id"]},
    ).all()
    phones = [p for p, _ in sample]
    emails = [e for _, e in sample if e]
    names = [n.lower() for n in FIRST + LAST]
    youth = world["groups"]["Youth"]
    choir = world["groups"]["Choir"]

    def national(e164: str) -> str:
        d = e164[2:]
        return f"({d[:3]}) {d[3:6]}-{d[6:]}"

    return {
        "list, no search": lambda: {},
        "name prefix (3 letters)": lambda: {"q": rng.choice(names)[:3]},
        "name prefix (2 letters)": lambda: {"q": rng.choice(names)[:2]},
        "first + last name": lambda: {"q": f"{rng.choice(FIRST)} {rng.choice(LAST)[:4]}"},
        'phone last 4 ("0142")': lambda: {"q": rng.choice(phones)[-4:]},
        'phone typed "(312) 555-0142"': lambda: {"q": national(rng.choice(phones))},
        'phone prefix "+1 312"': lambda: {"q": "+1 " + rng.choice(phones)[2:5]},
        "email fragment": lambda: {"q": rng.choice(emails).split("@")[0][-8:]},
        "group filter (Youth, 1/8)": lambda: {"group": str(youth)},
        "group filter + name": lambda: {"group": str(youth), "q": rng.choice(names)[:3]},
        "small group (Choir, 1/40)": lambda: {"group": str(choir), "sort": "newest"},
        "opted out, newest": lambda: {"status": "opted_out", "sort": "newest"},
    }


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def explain(title: str, stmt, params: dict | None = None) -> None:
    """EXPLAIN ANALYZE the statement exactly as the app sends it (bound parameters and all)."""
    from app.extensions import db

    compiled = stmt.compile(dialect=db.engine.dialect)
    conn = db.session.connection()
    rows = conn.exec_driver_sql(
        f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) {compiled.string}", compiled.construct_params(params)
    )
    print(f"\n-- {title}")
    for (line,) in rows:
        print("   ", line)


def run(runs: int, world: dict, show_plans: bool) -> bool:
    from app.extensions import db
    from app.models import User
    from app.people.counts import SEARCH_COUNT_CAP, capped_count
    from app.people.page_shapes import member_page
    from app.people.queries import MemberFilters
    from app.people.services import list_members

    owner = db.session.get(User, world["users"]["owner"])
    leader = db.session.get(User, world["users"]["leader"])
    rng = random.Random(7)
    kinds = query_mix(rng, world)
    kinds_for = {kind: owner for kind in kinds}
    kinds["leader's list (Youth only)"] = lambda: {}
    kinds_for["leader's list (Youth only)"] = leader

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nmachine: {os.cpu_count()} cores, load average {load} (other work on the machine inflates the tails)")
    print(f"\n{'kind':34} {'p50':>7} {'p95':>7} {'p99':>7} {'p95+count':>10} {'rows':>6}  (ms, {runs} runs each)")
    ok = True
    plans = []
    for kind, make in kinds.items():
        actor = kinds_for[kind]
        page_ms, total_ms, rows = [], [], []
        for i in range(runs + 5):
            filters = MemberFilters.from_args(make())
            # The rollback below expires the user; a request has its user loaded before the view
            # runs (Flask-Login, from the identity cache), so load it outside the timed part.
            actor.role, actor.church.country  # noqa: B018
            t0 = time.perf_counter()
            result = list_members(actor, filters, with_total=False)
            t1 = time.perf_counter()
            # The next page (what infinite scroll asks for) is the same range scan from the cursor.
            if result.next_cursor and i % 2:
                list_members(actor, filters, after=result.next_cursor, with_total=False)
            t2 = time.perf_counter()
            list_members(actor, filters, with_total=True)
            t3 = time.perf_counter()
            db.session.rollback()
            if i >= 5:  # warm-up
                page_ms.append((t1 - t0) * 1000)
                total_ms.append((t3 - t2) * 1000)
                rows.append(len(result.rows))
        p95 = percentile(page_ms, 95)
        ok = ok and p95 <= TARGET_P95_MS
        print(
            f"{kind:34} {percentile(page_ms, 50):7.2f} {p95:7.2f} {percentile(page_ms, 99):7.2f} "
            f"{percentile(total_ms, 95):10.2f} {statistics.mean(rows):6.0f}"
        )
        plans.append((kind, member_page(actor, filters)))
    if show_plans:
        print("\nPlans (EXPLAIN ANALYZE of the first-page query of one example of each kind):")
        for kind, page in plans:
            explain(kind, page.statement, page.params)
        sample_q = "tur"  # the Turners: about 1,650 matches, more than the cap
        # The list's total for a search, which the page asks for separately (/members/count).
        explain(
            f"count of a search, capped at {SEARCH_COUNT_CAP:,} (q={sample_q!r})",
            capped_count(owner, MemberFilters(q=sample_q), SEARCH_COUNT_CAP),
        )
    return ok


def run_requests(app, runs: int, world: dict) -> None:
    """The same kinds as whole requests: GET /members as a search keystroke sends it (HX-Request).

    Through Flask's test client, so no network, but everything a request does around the search:
    sign-in from the session, the view, rendering the rows, the response. For reference next to
    the search's own figures above, which the target is judged on.
    """
    with app.app_context():
        from app.extensions import db

        rng = random.Random(7)
        kinds = query_mix(rng, world)
        db.session.remove()
    kinds["leader's list (Youth only)"] = lambda: {}
    clients = {}
    for role in ("owner", "leader"):
        clients[role] = app.test_client()
        with clients[role].session_transaction() as session:
            session["_user_id"] = str(world["users"][role])
            session["_fresh"] = True
    print(f"\n{'whole request (HX keystroke)':34} {'p50':>7} {'p95':>7} {'p99':>7}  (ms, {runs} runs each)")
    for kind, make in kinds.items():
        client = clients["leader" if kind.startswith("leader") else "owner"]
        times = []
        for i in range(runs + 5):
            args = make()
            t0 = time.perf_counter()
            response = client.get("/members", query_string=args, headers={"HX-Request": "true"})
            elapsed = (time.perf_counter() - t0) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{kind}: GET /members answered {response.status_code}")
            if i >= 5:
                times.append(elapsed)
        print(f"{kind:34} {percentile(times, 50):7.2f} {percentile(times, 95):7.2f} {percentile(times, 99):7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--members", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--no-plans", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the bench database afterwards")
    args = parser.parse_args()

    recreate_database()
    app = make_app()
    try:
        with app.app_context():
            world = build(args.members)
            ok = run(args.runs, world, not args.no_plans)
        verdict = "meets the target on every kind" if ok else "misses the target on at least one kind"
        print(f"\nfirst-page search p95 (target {TARGET_P95_MS:.0f} ms): {verdict}")
        run_requests(app, args.runs, world)
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()
    finally:
        if not args.keep:
            admin = server_url().replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


if __name__ == "__main__":
    main()
