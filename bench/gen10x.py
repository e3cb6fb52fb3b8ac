"""The 10x database: one church of 1,000,000 members and 2,000 small churches beside it.

    make bench ARGS='gen10x'                  build (or finish building) koinonia_bench_10x
    make bench ARGS='gen10x --scale 0.01'     the same shape at 1% (a quick check of the generator)
    make bench ARGS='gen10x --fresh'          drop it and start again

What it holds at --scale 1 (every figure scales with --scale, except the demo seed):
  - Grace Community Church (the demo's big church): 1,000,000 members with names drawn from
    common first and last names (so name prefixes match realistic numbers of people), 2.5% opted
    out, 200 groups holding 1,333,333 memberships, 50 sent broadcasts of 100,000 recipients
    (5,000,000 broadcast_recipients), 200,000 conversations of 50 messages (10,000,000
    conversation_messages), and two years of daily_stats rebuilt from those rows;
  - 2,000 small churches of 1,000 members each, with an owner (bench-owner-K@example.org,
    password koinonia-demo), a sending number, 5 groups, 2 broadcasts to everyone, 50
    conversations of 20 messages and two years of daily_stats.

Everything is set-based (INSERT ... SELECT over generate_series), in steps recorded in a
`bench_gen_steps` table: a build stopped half-way resumes at the first step not recorded. The
big tables are filled with their indexes dropped and rebuilt after (the restore DDL is recorded
first, so an interrupted step can still put them back). Expect about half an hour on 2 cores at
--scale 1, and some 15 GB of disk.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard import drop_keys, libpq, make_app  # noqa: E402 - the bench's own helpers

DB_NAME = "koinonia_bench_10x"
FIRST = (
    "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Christopher Karen Charles Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret "
    "Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa "
    "George Deborah Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Dorothy Jacob "
    "Amy Gary Kathleen Nicholas Angela Eric Shirley Jonathan Emma Stephen Brenda Larry Pamela Justin Nicole Scott "
    "Anna Brandon Samantha Benjamin Katherine Samuel Christine Gregory Debra Alexander Rachel Patrick Carolyn Frank "
    "Janet Raymond Maria Jack Olivia Dennis Heather Jerry Helen Tyler Catherine Aaron Diane Jose Julie Adam Victoria "
    "Nathan Joyce Henry Lauren Zachary Kelly Douglas Christina Peter Ruth Kyle Joan Noah Virginia Ethan Judith "
    "Jeremy Evelyn Christian Hannah Walter Andrea Keith Megan Austin Cheryl Roger Jacqueline Terry Madison Sean "
    "Teresa Gerald Abigail Carl Sophia Dylan Martha Harold Sara Jordan Gloria Jesse Janice Bryan Kathryn Lawrence "
    "Ann Arthur Isabella Gabriel Judy Bruce Charlotte Logan Julia Billy Grace Joe Amber Alan Alice Juan Jean "
    "Elijah Denise Willie Frances Albert Danielle Wayne Marilyn Randy Natalie Mason Beverly Vincent Diana Liam "
    "Brittany Roy Theresa Bobby Kayla Caleb Alexis Bradley Doris Russell Lori Lucas Tiffany"
).split()
LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson "
    "Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell "
    "Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris "
    "Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward "
    "Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders "
    "Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes "
    "Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace "
    "Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall "
    "Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman "
    "Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes "
    "Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson "
    "Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen "
    "Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado "
    "Ray Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval "
    "Adeyemi Okafor Boateng Mensah Osei Nwosu Eze Balogun Chukwu Owusu"
).split()


def database_url() -> str:
    server = os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://koinonia:koinonia@127.0.0.1:54339/koinonia"
    head, _, _ = server.rpartition("/")
    return f"{head}/{DB_NAME}"


class Steps:
    """Which steps are done, recorded in the database being built (so a rerun resumes)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        conn.execute("CREATE TABLE IF NOT EXISTS bench_gen_steps (name text PRIMARY KEY, detail jsonb, at timestamptz)")

    def done(self, name: str) -> bool:
        row = self.conn.execute("SELECT at FROM bench_gen_steps WHERE name = %s", (name,)).fetchone()
        return bool(row and row[0])

    def run(self, name: str, work) -> None:
        if self.done(name):
            print(f"  {name}: done before")
            return
        started = time.perf_counter()
        with self.conn.transaction():
            work(self.conn)
            self.conn.execute(
                "INSERT INTO bench_gen_steps (name, at) VALUES (%s, now()) ON CONFLICT (name) DO UPDATE SET at = now()",
                (name,),
            )
        print(f"  {name}: {time.perf_counter() - started:.1f} s", flush=True)

    def without_keys(self, table: str, fill) -> None:
        """Run `fill` with `table`'s indexes and constraints dropped, then rebuild them."""
        saved = self.conn.execute("SELECT detail FROM bench_gen_steps WHERE name = %s", (f"keys:{table}",)).fetchone()
        if saved is None:
            with self.conn.transaction():
                restore = drop_keys(self.conn, table)
                self.conn.execute(
                    "INSERT INTO bench_gen_steps (name, detail) VALUES (%s, %s)", (f"keys:{table}", json.dumps(restore))
                )
        fill()
        restore = self.conn.execute("SELECT detail FROM bench_gen_steps WHERE name = %s", (f"keys:{table}",)).fetchone()
        if restore is not None:
            started = time.perf_counter()
            for ddl in restore[0]:
                self.conn.execute(ddl)
            self.conn.execute("DELETE FROM bench_gen_steps WHERE name = %s", (f"keys:{table}",))
            print(f"  {table}: {len(restore[0])} indexes and keys rebuilt in {time.perf_counter() - started:.1f} s")


def build(scale: float, fresh: bool) -> None:
    url = database_url()
    admin = libpq(url.rpartition("/")[0] + "/postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
        if fresh and exists:
            conn.execute(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:63809/14")
    app = make_app(url, redis_url)
    big = {
        "members": int(1_000_000 * scale),
        "groups": 200,
        "broadcasts": 50,
        "per_broadcast": int(100_000 * scale),
        "conversations": int(200_000 * scale),
        "messages_each": 50,
        "small": max(2, int(2_000 * scale)),
        "small_members": 1_000,
    }
    print(f"Building {DB_NAME} at scale {scale}: {json.dumps(big)}", flush=True)
    with app.app_context():
        from flask_migrate import upgrade

        from app.auth.services import hash_password
        from app.extensions import db
        from app.seed import seed_demo

        with psycopg.connect(libpq(url), autocommit=True) as conn:
            steps = Steps(conn)
            if not steps.done("schema and demo seed"):
                upgrade()
                seed_demo(60)
                db.session.commit()
                steps.run("schema and demo seed", lambda c: None)
            password = hash_password("koinonia-demo")
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        steps = Steps(conn)
        church = conn.execute("SELECT id FROM churches WHERE slug = 'grace-community-church'").fetchone()[0]
        number = conn.execute("SELECT id FROM phone_numbers WHERE e164 = '+13125550100'").fetchone()[0]
        names = {"first": FIRST, "last": LAST, "nf": len(FIRST), "nl": len(LAST)}
        # Names: the g-th member's first and last name come from the lists by two coprime strides,
        # so every pair occurs and prefixes ("ma", "smi") match as many people as they would.
        member_sql = (
            "INSERT INTO members (church_id, first_name, last_name, phone_e164, email, opted_out_at, "
            "consent_source, consent_at, created_at, updated_at) "
            "SELECT %(c)s, (%(first)s::text[])[1 + (g * 7) %% %(nf)s], (%(last)s::text[])[1 + (g * 13) %% %(nl)s], "
            "%(prefix)s || lpad(g::text, 7, '0'), CASE WHEN g %% 3 = 0 THEN 'm' || g || '@example.net' END, "
            "CASE WHEN g %% 40 = 0 THEN now() - (g %% 700) * interval '1 day' END, 'import', "
            "now() - (g %% 730) * interval '1 day', now() - (g %% 730) * interval '1 day', "
            "now() - (g %% 730) * interval '1 day' FROM generate_series(1, %(n)s) g"
        )

        def grace_members() -> None:
            steps.run(
                "grace members",
                lambda c: c.execute(member_sql, {**names, "c": church, "n": big["members"], "prefix": "+1555"}),
            )

        steps.without_keys("members", grace_members)

        def grace_groups(c) -> None:
            c.execute(
                "INSERT INTO groups (church_id, name) SELECT %(c)s, 'Group ' || lpad(k::text, 3, '0') "
                "FROM generate_series(1, %(n)s) k ON CONFLICT DO NOTHING",
                {"c": church, "n": big["groups"]},
            )
            # Every member in one group, every third in a second: 1.33 memberships per member.
            c.execute(
                "INSERT INTO group_members (church_id, group_id, member_id) "
                "SELECT %(c)s, g.id, m.id FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM members "
                "WHERE church_id = %(c)s AND phone_e164 LIKE '+1555%%') m "
                "JOIN LATERAL (SELECT unnest(CASE WHEN m.k %% 3 = 0 THEN ARRAY[m.k %% 200, (m.k * 7 + 1) %% 200] "
                "ELSE ARRAY[m.k %% 200] END) AS slot) s ON true "
                "JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS slot FROM groups WHERE church_id = %(c)s "
                "AND name LIKE 'Group %%') g ON g.slot = s.slot ON CONFLICT DO NOTHING",
                {"c": church},
            )

        steps.run("grace groups", grace_groups)

        def grace_broadcasts(c) -> None:
            c.execute(
                "INSERT INTO broadcasts (church_id, body, status, created_at, started_at, completed_at, "
                "recipient_count, sent_count, delivered_count, failed_count) "
                "SELECT %(c)s, 'Weekly update #' || k || ': service times, prayer needs and events.', 'sent', "
                "now() - k * interval '7 days', now() - k * interval '7 days', now() - k * interval '7 days', "
                "%(n)s, %(n)s, %(n)s - %(n)s / 50, %(n)s / 50 FROM generate_series(1, %(b)s) k",
                {"c": church, "n": big["per_broadcast"], "b": big["broadcasts"]},
            )

        steps.run("grace broadcasts", grace_broadcasts)

        def grace_recipients() -> None:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM broadcasts WHERE church_id = %s AND body LIKE 'Weekly update #%%' ORDER BY id",
                    (church,),
                )
            ]
            for k, broadcast in enumerate(ids):
                steps.run(
                    f"grace recipients {k + 1}/{len(ids)}",
                    lambda c, b=broadcast, k=k: c.execute(
                        "INSERT INTO broadcast_recipients (church_id, broadcast_id, member_id, to_e164, status, "
                        "sent_at, delivered_at, failed_at, segments, attempts) "
                        "SELECT %(c)s, b.id, m.id, m.phone_e164, CASE WHEN m.id %% 50 = 0 THEN 'failed' "
                        "ELSE 'delivered' END, b.created_at + interval '1 minute', CASE WHEN m.id %% 50 <> 0 THEN "
                        "b.created_at + interval '3 minutes' END, CASE WHEN m.id %% 50 = 0 THEN b.created_at + "
                        "interval '3 minutes' END, 1, 1 FROM broadcasts b CROSS JOIN LATERAL (SELECT id, phone_e164 "
                        "FROM members WHERE church_id = %(c)s AND phone_e164 LIKE '+1555%%' ORDER BY id "
                        "OFFSET %(skip)s LIMIT %(n)s) m WHERE b.id = %(b)s",
                        {"c": church, "b": b, "n": big["per_broadcast"], "skip": (k * 20_011) % 500},
                    ),
                )

        steps.without_keys("broadcast_recipients", grace_recipients)

        def grace_conversations(c) -> None:
            c.execute(
                "INSERT INTO conversations (church_id, member_id, phone_number_id, status, created_at, "
                "last_message_at, last_inbound_at, last_message_preview) SELECT %(c)s, m.id, %(p)s, 'open', "
                "now() - (m.k %% 365) * interval '1 day', now() - (m.k %% 365) * interval '1 day', "
                "now() - (m.k %% 365) * interval '1 day', 'Thank you, see you Sunday' "
                "FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM members WHERE church_id = %(c)s "
                "AND phone_e164 LIKE '+1555%%' ORDER BY id LIMIT %(n)s) m ON CONFLICT DO NOTHING",
                {"c": church, "p": number, "n": big["conversations"]},
            )

        steps.run("grace conversations", grace_conversations)

        def grace_messages() -> None:
            ids = conn.execute(
                "SELECT min(id), max(id) FROM conversations WHERE church_id = %s AND last_message_preview = "
                "'Thank you, see you Sunday'",
                (church,),
            ).fetchone()
            lo, hi = ids
            chunk = max(1, (hi - lo + 1) // 20)
            for part, start in enumerate(range(lo, hi + 1, chunk)):
                steps.run(
                    f"grace messages {part + 1}",
                    lambda c, s=start: c.execute(
                        "INSERT INTO conversation_messages (church_id, conversation_id, direction, body, status, "
                        "created_at) SELECT %(c)s, v.id, CASE WHEN k %% 2 = 0 THEN 'in' ELSE 'out' END, "
                        "CASE WHEN k %% 2 = 0 THEN 'Message ' || k || ' from the member about Sunday plans' "
                        "ELSE 'Reply ' || k || ': thanks, we will see you there' END, "
                        "CASE WHEN k %% 2 = 0 THEN 'received' ELSE 'delivered' END, "
                        "v.last_message_at - (%(each)s - k) * interval '2 hours' "
                        "FROM conversations v CROSS JOIN generate_series(1, %(each)s) k "
                        "WHERE v.church_id = %(c)s AND v.id >= %(s)s AND v.id < %(s)s + %(chunk)s",
                        {"c": church, "s": s, "chunk": chunk, "each": big["messages_each"]},
                    ),
                )

        steps.without_keys("conversation_messages", grace_messages)

        def small_churches(c) -> None:
            c.execute(
                "INSERT INTO churches (name, slug, timezone) SELECT 'Small Church ' || k, 'small-church-' || k, "
                "'America/New_York' FROM generate_series(1, %(n)s) k ON CONFLICT DO NOTHING",
                {"n": big["small"]},
            )
            c.execute(
                "INSERT INTO users (church_id, email, name, password_hash, role, email_verified_at) "
                "SELECT id, 'bench-owner-' || split_part(slug, '-', 3) || '@example.org', 'Owner', %(pw)s, "
                "'owner', now() FROM churches WHERE slug LIKE 'small-church-%%' ON CONFLICT DO NOTHING",
                {"pw": password},
            )
            c.execute(
                "INSERT INTO phone_numbers (church_id, e164, is_default) SELECT id, '+1777' || "
                "lpad(split_part(slug, '-', 3), 7, '0'), true FROM churches WHERE slug LIKE 'small-church-%%' "
                "ON CONFLICT DO NOTHING",
                {},
            )

        steps.run("small churches", small_churches)

        def small_members() -> None:
            steps.run(
                "small church members",
                lambda c: c.execute(
                    "INSERT INTO members (church_id, first_name, last_name, phone_e164, email, opted_out_at, "
                    "consent_source, consent_at, created_at, updated_at) "
                    "SELECT ch.id, (%(first)s::text[])[1 + (g * 7 + ch.id) %% %(nf)s], "
                    "(%(last)s::text[])[1 + (g * 13 + ch.id) %% %(nl)s], '+1666' || lpad(g::text, 7, '0'), NULL, "
                    "CASE WHEN g %% 40 = 0 THEN now() END, 'import', now(), now() - (g %% 700) * interval '1 day', "
                    "now() FROM churches ch CROSS JOIN generate_series(1, %(n)s) g "
                    "WHERE ch.slug LIKE 'small-church-%%'",
                    {**names, "n": big["small_members"]},
                ),
            )

        steps.without_keys("members", small_members)

        def small_rest(c) -> None:
            c.execute(
                "INSERT INTO groups (church_id, name) SELECT ch.id, 'Group ' || k FROM churches ch "
                "CROSS JOIN generate_series(1, 5) k WHERE ch.slug LIKE 'small-church-%%' ON CONFLICT DO NOTHING"
            )
            c.execute(
                "INSERT INTO group_members (church_id, group_id, member_id) SELECT m.church_id, g.id, m.id "
                "FROM members m JOIN groups g ON g.church_id = m.church_id AND g.name = 'Group ' || (1 + m.id %% 5) "
                "WHERE m.phone_e164 LIKE '+1666%%' ON CONFLICT DO NOTHING",
                {},
            )
            c.execute(
                "INSERT INTO broadcasts (church_id, body, status, created_at, started_at, completed_at, "
                "recipient_count, sent_count, delivered_count) SELECT ch.id, 'News ' || k, 'sent', "
                "now() - k * interval '9 days', now() - k * interval '9 days', now() - k * interval '9 days', "
                "%(n)s, %(n)s, %(n)s FROM churches ch CROSS JOIN generate_series(1, 2) k "
                "WHERE ch.slug LIKE 'small-church-%%'",
                {"n": big["small_members"]},
            )
            c.execute(
                "INSERT INTO broadcast_recipients (church_id, broadcast_id, member_id, to_e164, status, sent_at, "
                "delivered_at, segments, attempts) SELECT b.church_id, b.id, m.id, m.phone_e164, 'delivered', "
                "b.created_at, b.created_at, 1, 1 FROM broadcasts b JOIN members m ON m.church_id = b.church_id "
                "WHERE b.body LIKE 'News %%' AND m.phone_e164 LIKE '+1666%%'",
                {},
            )
            c.execute(
                "INSERT INTO conversations (church_id, member_id, phone_number_id, status, created_at, "
                "last_message_at, last_inbound_at, last_message_preview) SELECT m.church_id, m.id, p.id, 'open', "
                "now() - (m.id %% 90) * interval '1 day', now() - (m.id %% 90) * interval '1 day', "
                "now() - (m.id %% 90) * interval '1 day', 'See you Sunday' FROM members m "
                "JOIN phone_numbers p ON p.church_id = m.church_id WHERE m.phone_e164 LIKE '+1666%%' "
                "AND m.phone_e164 <= '+16660000050' ON CONFLICT DO NOTHING",
                {},
            )
            c.execute(
                "INSERT INTO conversation_messages (church_id, conversation_id, direction, body, status, created_at) "
                "SELECT v.church_id, v.id, CASE WHEN k %% 2 = 0 THEN 'in' ELSE 'out' END, 'Message ' || k, "
                "CASE WHEN k %% 2 = 0 THEN 'received' ELSE 'delivered' END, "
                "v.last_message_at - (20 - k) * interval '1 hour' FROM conversations v "
                "CROSS JOIN generate_series(1, 20) k WHERE v.last_message_preview = 'See you Sunday'",
                {},
            )

        steps.run("small church groups, broadcasts and conversations", small_rest)

    with app.app_context():
        from app.extensions import db
        from app.stats import rebuild

        with psycopg.connect(libpq(url), autocommit=True) as conn:
            steps = Steps(conn)
            if not steps.done("daily_stats"):
                started = time.perf_counter()
                for (church_id,) in conn.execute("SELECT id FROM churches ORDER BY id").fetchall():
                    rebuild(church_id)
                    db.session.commit()
                steps.run("daily_stats", lambda c: None)
                print(f"  daily_stats rebuilt for every church in {time.perf_counter() - started:.1f} s")
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        steps = Steps(conn)
        if not steps.done("vacuum analyze"):
            started = time.perf_counter()
            conn.execute("VACUUM ANALYZE")
            steps.run("vacuum analyze", lambda c: None)
            print(f"  VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")
        for table in ("members", "group_members", "broadcast_recipients", "conversation_messages", "churches"):
            count = conn.execute(f"SELECT reltuples::bigint FROM pg_class WHERE relname = '{table}'").fetchone()[0]
            print(f"  {table}: about {count:,} rows")
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
        print(f"  database size {size}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (0.01 for a check)")
    parser.add_argument("--fresh", action="store_true", help="drop the database first")
    args = parser.parse_args()
    started = time.perf_counter()
    build(args.scale, args.fresh)
    print(f"done in {time.perf_counter() - started:.0f} s (load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
