#!/usr/bin/env python3
"""Base backups of a local PostgreSQL (scripts/services.py) and the restore drill that proves them.

    python scripts/backup.py base  --dir .var/dev --pg-port 54329
    python scripts/backup.py drill --dir .var/dev --pg-port 54329 --db koinonia [--fresh]

The server archives every WAL segment into <pg_home>/wal-archive (services.archive_settings).
`base` takes a base backup (pg_basebackup, plain format, its own WAL streamed in) into
<pg_home>/backups/base and prunes the archived WAL older than it: the latest backup plus the
archive restore the server to any moment since that backup.

`drill` restores it, as a real recovery would, into a scratch cluster on --scratch-port:
1. measures the RPO: how long ago the last WAL segment was archived, and how many bytes of WAL
   are not archived yet (what a lost server would take with it);
2. takes a row count and an md5 of every table of --db (whole rows, ordered by the primary key),
   and notes the server's clock right then: the target time;
3. commits a canary row in the `postgres` database after the target, then switches WAL and
   waits until the archive holds it;
4. copies the base backup into the scratch cluster with recovery.signal, restore_command reading
   the archive and recovery_target_time, starts it and waits for the promotion;
5. compares the counts and checksums with step 2, checks the canary is absent, and prints the
   time from step 4 to a verified database (the RTO).
Exits 1 when anything differs. Standard library only, like services.py.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import services  # noqa: E402
from services import ServiceError, log  # noqa: E402

CANARY_TABLE = "koinonia_restore_drill_canary"


def psql(port: int, db: str, sql: str) -> list[list[str]]:
    """Rows of `sql` on db at 127.0.0.1:port as the superuser, fields split on the unit separator."""
    bindir = services.find_pg_bindir() or Path("/nonexistent")
    cmd = [services._pg_tool(bindir, "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db]
    cmd += ["-X", "-q", "-t", "-A", "-F", "\x1f", "-v", "ON_ERROR_STOP=1", "-c", sql]
    res = services._run(cmd, check=False, capture_output=True, env=dict(os.environ, PGCONNECT_TIMEOUT="5"))
    if res.returncode != 0:
        raise ServiceError(f"psql on port {port}, database {db}: {res.stderr.strip()}")
    return [line.split("\x1f") for line in res.stdout.splitlines() if line]


def value(port: int, db: str, sql: str) -> str:
    return psql(port, db, sql)[0][0]


def _as_pg(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return services._run(services._as_pg_user(cmd), check=False, capture_output=True, cwd=cwd)


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# --------------------------------------------------------------------------- base backup


def take_base_backup(home: Path, port: int) -> tuple[Path, float]:
    """A fresh base backup in <home>/backups/base; the archive keeps only what it needs. (path, seconds)"""
    bindir = services.find_pg_bindir()
    backups = home / "backups"
    backups.mkdir(mode=0o755, exist_ok=True)
    services._chown_to_pg_user(backups)
    fresh, final = backups / "base.new", backups / "base"
    shutil.rmtree(fresh, ignore_errors=True)
    started = time.monotonic()
    cmd = [services._pg_tool(bindir, "pg_basebackup"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
    cmd += ["-D", str(fresh), "-X", "stream", "--checkpoint=fast", "--no-sync"]
    res = _as_pg(cmd, backups)
    if res.returncode != 0:
        raise ServiceError(f"pg_basebackup failed: {res.stderr.strip()}")
    shutil.rmtree(final, ignore_errors=True)
    fresh.rename(final)
    seconds = time.monotonic() - started
    label = (final / "backup_label").read_text()
    first_needed = re.search(r"START WAL LOCATION: \S+ \(file (\w+)\)", label).group(1)
    res = _as_pg(
        [services._pg_tool(bindir, "pg_archivecleanup"), str(services.wal_archive_dir(home)), first_needed], home
    )
    if res.returncode != 0:
        raise ServiceError(f"pg_archivecleanup failed: {res.stderr.strip()}")
    size = _dir_size(final) / 1e6
    log(f"base backup in {final} ({size:.0f} MB, {seconds:.1f}s); archive pruned before {first_needed}")
    return final, seconds


# --------------------------------------------------------------------------- drill


def table_fingerprints(port: int, db: str) -> dict[str, tuple[str, str]]:
    """{table: (row count, md5 of its rows ordered by primary key)} for every table of db's public schema."""
    tables = psql(
        port,
        db,
        "SELECT c.relname, coalesce((SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord) "
        "FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = c.oid AND i.indisprimary), 't::text') "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname",
    )
    parts = [
        f"SELECT '{name}', count(*)::text, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {order}), '')) "
        f"FROM public.{name} t"
        for name, order in tables
    ]
    return {name: (count, digest) for name, count, digest in psql(port, db, " UNION ALL ".join(parts))}


def measure_rpo(port: int) -> tuple[float | None, int]:
    """(seconds since the last segment was archived, bytes of WAL not archived yet)."""
    age, segment = psql(
        port,
        "postgres",
        "SELECT coalesce(EXTRACT(EPOCH FROM now() - last_archived_time)::text, ''), coalesce(last_archived_wal, '') "
        "FROM pg_stat_archiver",
    )[0]
    if not segment:
        return None, int(value(port, "postgres", "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint"))
    # The archived segment ends where the next one starts: timeline (8 hex), log (8), seg (8).
    log_no, seg_no = int(segment[8:16], 16), int(segment[16:24], 16)
    seg_size = int(value(port, "postgres", "SELECT setting FROM pg_settings WHERE name = 'wal_segment_size'"))
    archived_end = (log_no * 0x100000000) + (seg_no + 1) * seg_size
    current = int(value(port, "postgres", "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint"))
    return float(age), max(0, current - archived_end)


def archive_through_now(port: int, timeout: float = 60) -> None:
    """Close the current WAL segment and wait until the archive holds it."""
    segment = value(port, "postgres", "SELECT pg_walfile_name(pg_switch_wal())")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = psql(port, "postgres", "SELECT coalesce(last_archived_wal, ''), failed_count FROM pg_stat_archiver")[0]
        if row[0] >= segment:
            return
        time.sleep(0.1)
    raise ServiceError(f"WAL segment {segment} was not archived within {timeout:.0f}s (see the server log)")


def restore(home: Path, backup: Path, scratch_port: int, target_time: str) -> Path:
    """The backup, recovered from the archive up to target_time, running on scratch_port."""
    bindir = services.find_pg_bindir()
    scratch = home / "restore-drill"
    _stop(scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(mode=0o700)
    services._chown_to_pg_user(scratch)
    res = _as_pg(["cp", "-a", f"{backup}/.", str(scratch)], home)
    if res.returncode != 0:
        raise ServiceError(f"copying the backup failed: {res.stderr.strip()}")
    archive = services.wal_archive_dir(home)
    recovery = {
        "restore_command": f"'cp {archive}/%f %p'",
        "recovery_target_time": f"'{target_time}'",
        "recovery_target_action": "'promote'",
        "archive_mode": "off",  # the restored copy must never write into the real archive
    }
    sockdir = services._socket_dir(scratch)
    if sockdir != scratch:
        sockdir.mkdir(mode=0o700, exist_ok=True)
        services._chown_to_pg_user(sockdir)
    services._write_pg_conf(scratch, scratch_port, sockdir, True, recovery)
    (scratch / "recovery.signal").touch()
    services._chown_to_pg_user(scratch / "recovery.signal")
    logfile = home / "restore-drill.log"
    logfile.write_text("")
    services._chown_to_pg_user(logfile)
    services._pg_ctl_start(bindir, scratch, logfile, scratch_port, "the restored cluster")
    deadline = time.monotonic() + 120
    while value(scratch_port, "postgres", "SELECT pg_is_in_recovery()") == "t":
        if time.monotonic() > deadline:
            raise ServiceError(f"the restored cluster never finished recovery\n{services._tail(logfile)}")
        time.sleep(0.1)
    return scratch


def _stop(pgdata: Path) -> None:
    services._pg_ctl_stop(pgdata, "the restored cluster")


def drill(args: argparse.Namespace) -> int:
    datadir = Path(args.dir).resolve()
    home = services.pg_home(datadir)
    port = args.pg_port
    if value(port, "postgres", "SHOW archive_mode") != "on":
        raise ServiceError("WAL archiving is off on this server: restart it with scripts/services.py up")
    if services._port_open(args.scratch_port):
        raise ServiceError(f"port {args.scratch_port} (the scratch cluster's) is in use; pick another")
    rpo_seconds, rpo_bytes = measure_rpo(port)
    backup = home / "backups" / "base"
    backup_seconds = None
    if args.fresh or not (backup / "backup_label").exists():
        backup, backup_seconds = take_base_backup(home, port)

    psql(port, "postgres", f"CREATE TABLE IF NOT EXISTS {CANARY_TABLE} (note text, at timestamptz DEFAULT now())")
    run = f"{os.getpid()}-{time.time_ns()}"  # this drill's canaries, apart from earlier drills'
    psql(port, "postgres", f"INSERT INTO {CANARY_TABLE} (note) VALUES ('before {run}')")
    source = table_fingerprints(port, args.db)
    target_time = value(port, "postgres", "SELECT clock_timestamp()")
    time.sleep(0.05)  # the canary's commit lands strictly after the target
    psql(port, "postgres", f"INSERT INTO {CANARY_TABLE} (note) VALUES ('after {run}')")
    archive_through_now(port)

    started = time.monotonic()
    scratch = restore(home, backup, args.scratch_port, target_time)
    try:
        restored = table_fingerprints(args.scratch_port, args.db)
        canaries = [
            r[0] for r in psql(args.scratch_port, "postgres", f"SELECT note FROM {CANARY_TABLE}") if run in r[0]
        ]
        rto = time.monotonic() - started
    finally:
        _stop(scratch)
        shutil.rmtree(scratch, ignore_errors=True)

    differ = sorted(t for t in source.keys() | restored.keys() if source.get(t) != restored.get(t))
    rows = sum(int(c) for c, _ in source.values())
    print(f"restore drill: {args.db}, {len(source)} tables, {rows} rows, restored to {target_time}")
    if not source:
        print(f"  (database {args.db} has no tables yet: `make dev` migrates and seeds it)")
    if backup_seconds is not None:
        print(f"  base backup: {_dir_size(backup) / 1e6:.0f} MB in {backup_seconds:.1f}s")
    print(f"  RTO: {rto:.1f}s from copying the base backup to a verified database")
    if rpo_seconds is None:
        print(f"  RPO: nothing archived yet; {rpo_bytes} bytes of WAL would be lost")
    else:
        print(f"  RPO: last WAL segment archived {rpo_seconds:.0f}s ago; {rpo_bytes} bytes of WAL not archived yet")
    ok = True
    if differ:
        print(f"  MISMATCH in {', '.join(differ)}")
        ok = False
    if f"before {run}" not in canaries or f"after {run}" in canaries:
        print(f"  the point in time is wrong: of this drill's canaries the restore holds {canaries}")
        ok = False
    print("  tables match the source: row counts and checksums" if ok else "  restore drill FAILED")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_ in (("base", "take a base backup and prune the archive"), ("drill", "restore and verify")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--dir", required=True, help="the servers' data directory, e.g. .var/dev")
        p.add_argument("--pg-port", type=int, required=True)
        if name == "drill":
            p.add_argument("--db", default=services.APP_DB, help="the database to compare")
            p.add_argument("--scratch-port", type=int, default=0, help="default: --pg-port + 400")
            p.add_argument("--fresh", action="store_true", help="take a new base backup first")
    args = parser.parse_args(argv)
    try:
        if args.command == "base":
            take_base_backup(services.pg_home(Path(args.dir).resolve()), args.pg_port)
            return 0
        args.scratch_port = args.scratch_port or args.pg_port + 400
        return drill(args)
    except ServiceError as exc:
        log(f"error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
