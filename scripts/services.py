#!/usr/bin/env python3
"""Local PostgreSQL and Redis for `make dev` and `make test`.

Each server lives under a data directory in `.var/` (git-ignored), listens on
127.0.0.1 only, and is started from the binaries already on the machine
(installed with apt when missing and we are allowed to). Everything here is
idempotent: asking for a server that is already running reuses it.

Standard library only: this runs before (and independently of) the virtualenv.

    python scripts/services.py up --dir .var/dev --pg-port 54329 --redis-port 63799
    python scripts/services.py down --dir .var/dev
    python scripts/services.py packages [--browser]

`up` prints `export NAME=value` lines on stdout (so a shell can `eval` them);
every diagnostic goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import hashlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PG_SYSTEM_USER = "koinonia-pg"
APP_ROLE = "koinonia"
APP_PASSWORD = "koinonia"
APP_DB = "koinonia"
PG_BIN_NAMES = ("initdb", "pg_ctl", "postgres")

# Unix socket paths are limited to ~107 bytes (sun_path); ".s.PGSQL.NNNNN" adds 15.
MAX_SOCKET_DIR_LEN = 90


class ServiceError(RuntimeError):
    """A server could not be provisioned; the message says what to do."""


def log(msg: str) -> None:
    try:
        print(f"services: {msg}", file=sys.stderr, flush=True)
    except OSError:
        # stderr gone (terminal closed, `| tee` killed by Ctrl-C): keep working,
        # a shutdown that dies half-way would leave servers behind.
        pass


# --------------------------------------------------------------------------- helpers


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    # A daemon that exited stays a zombie until its parent (init) reaps it, and
    # some container inits are slow to: count a zombie as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def _locked(datadir: Path):
    """Serialise concurrent `up`/`down` on the same data directory."""
    datadir.mkdir(parents=True, exist_ok=True)
    with open(datadir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run(cmd: list[str], *, check: bool = True, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("stdin", subprocess.DEVNULL)  # never wait on a prompt (CI has no stdin)
    return subprocess.run(cmd, check=check, text=True, **kw)


# --------------------------------------------------------------------------- PostgreSQL


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path)) or (0,)


def find_pg_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None.

    PATH first (Homebrew, /usr/local/bin symlinks), then Debian's versioned
    directories (highest version wins), then Homebrew's keg-only formulae.
    """
    candidates: list[Path] = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)
    for pattern in (
        "/usr/lib/postgresql/*/bin",
        "/opt/homebrew/opt/postgresql@*/bin",
        "/usr/local/opt/postgresql@*/bin",
    ):
        candidates += [Path(p) for p in sorted(glob.glob(pattern), key=_version_key, reverse=True)]
    for d in candidates:
        if all(os.access(d / name, os.X_OK) for name in PG_BIN_NAMES):
            return d
    return None


def _pg_tool(bindir: Path, name: str) -> str:
    """A client tool (psql) from the server's bindir, else from PATH."""
    p = bindir / name
    if os.access(p, os.X_OK):
        return str(p)
    found = shutil.which(name)
    if not found:
        raise ServiceError(f"{name} not found (install the PostgreSQL client)")
    return found


def _ensure_pg_system_user() -> None:
    """PostgreSQL refuses to run as root, so as root we run it as a system user."""
    try:
        import pwd

        pwd.getpwnam(PG_SYSTEM_USER)
        return
    except KeyError:
        pass
    log(f"creating system user {PG_SYSTEM_USER} (PostgreSQL will not run as root)")
    _run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_SYSTEM_USER],
        stdout=subprocess.DEVNULL,
    )


def _as_pg_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", PG_SYSTEM_USER, "--", *cmd] if _is_root() else cmd


def _chown_to_pg_user(path: Path) -> None:
    if _is_root():
        shutil.chown(path, user=PG_SYSTEM_USER, group=PG_SYSTEM_USER)


# As root, PostgreSQL runs as PG_SYSTEM_USER, which cannot reach a checkout under a private home
# (/root is 0700 on Debian): its cluster then lives here, one directory per data directory.
ROOT_PG_BASE = Path(os.environ.get("KOINONIA_PG_BASE", "/var/lib/koinonia"))


def _pg_user_can_reach(path: Path) -> bool:
    return _run(_as_pg_user(["test", "-x", str(path)]), check=False, stderr=subprocess.DEVNULL).returncode == 0


def pg_home(datadir: Path) -> Path:
    """Where datadir's cluster (pg/) and its server log live: datadir itself, unless we are root
    and the PostgreSQL user cannot reach it; then ROOT_PG_BASE/<hash of datadir's path>.

    A cluster already inside datadir stays there, so existing set-ups keep their data.
    """
    datadir = Path(datadir).resolve()
    if not _is_root() or (datadir / "pg" / "PG_VERSION").exists():
        return datadir
    datadir.mkdir(parents=True, exist_ok=True)
    _ensure_pg_system_user()
    if _pg_user_can_reach(datadir):
        return datadir
    return ROOT_PG_BASE / hashlib.sha1(str(datadir).encode()).hexdigest()[:16]


def _socket_dir(pgdata: Path) -> Path:
    """The unix socket lives beside the data, unless that path is too long for a socket."""
    if len(str(pgdata)) <= MAX_SOCKET_DIR_LEN:
        return pgdata
    digest = hashlib.sha1(str(pgdata).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"koinonia-pg-{digest}"


def _check_traversable(path: Path) -> None:
    """The PostgreSQL user must be able to reach the data dir through every parent."""
    if not _is_root():
        return
    if not _pg_user_can_reach(path):
        raise ServiceError(
            f"user {PG_SYSTEM_USER} cannot reach {path}: a parent directory is not "
            "world-executable (chmod o+x it, or move the checkout outside /root)"
        )


def _write_pg_conf(pgdata: Path, port: int, sockdir: Path, fast: bool, extra: dict[str, str] | None = None) -> None:
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "port": str(port),
        "unix_socket_directories": f"'{sockdir}'",
        "max_connections": "200",  # gunicorn + workers + parallel tests
        "shared_buffers": "128MB",
        "dynamic_shared_memory_type": "posix",
        "log_min_messages": "warning",
        "log_line_prefix": "'%m [%p] %q%u@%d '",
        # A streaming replica (ensure_replica) and pg_basebackup need these; PostgreSQL's defaults.
        "wal_level": "replica",
        "max_wal_senders": "10",
        "hot_standby": "on",
        # A replica that is gone for good must not make its slot keep WAL forever.
        "max_slot_wal_keep_size": "'2GB'",
    }
    if fast:
        # Throwaway test data: durability buys nothing and costs a lot of fsyncs.
        settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    settings |= extra or {}
    body = "# Written by scripts/services.py on every `up`; edit that script instead.\n"
    body += "".join(f"{k} = {v}\n" for k, v in settings.items())
    conf = pgdata / "koinonia.conf"
    conf.write_text(body)
    _chown_to_pg_user(conf)
    main = pgdata / "postgresql.conf"
    include = "include_if_exists = 'koinonia.conf'\n"
    if include not in main.read_text():
        with main.open("a") as fh:
            fh.write("\n" + include)


def _pg_running(bindir: Path, pgdata: Path) -> bool:
    if not (pgdata / "PG_VERSION").exists():
        return False
    res = _run(
        _as_pg_user([str(bindir / "pg_ctl"), "status", "-D", str(pgdata)]),
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=pgdata,
    )
    return res.returncode == 0


def _pg_port_of_running(pgdata: Path) -> int | None:
    """Line 4 of postmaster.pid is the port the running server listens on."""
    try:
        return int((pgdata / "postmaster.pid").read_text().splitlines()[3])
    except (OSError, ValueError, IndexError):
        return None


def _wait_for_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _port_open(port):
            return True
        time.sleep(0.1)
    return False


def ensure_postgres(datadir: Path, port: int, fast: bool = False) -> str:
    """Start (or reuse) a PostgreSQL server under datadir/pg; return the app's URL."""
    datadir = Path(datadir).resolve()
    bindir = find_pg_bindir()
    if bindir is None:
        raise ServiceError(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH "
            "or in /usr/lib/postgresql/*/bin; run `python scripts/services.py packages`"
        )

    with _locked(datadir):
        if _is_root():
            _ensure_pg_system_user()
        home = pg_home(datadir)
        if home != datadir:
            home.mkdir(mode=0o755, parents=True, exist_ok=True)
            (datadir / "pg-location").write_text(f"{home}\n")  # for whoever looks for the data
        pgdata = home / "pg"
        logfile = home / "postgres.log"
        if _pg_running(bindir, pgdata):
            running_port = _pg_port_of_running(pgdata)
            if running_port not in (None, port):
                raise ServiceError(
                    f"the PostgreSQL in {pgdata} is already running on port {running_port}, "
                    f"not {port}; run `python scripts/services.py down --dir {datadir}` first"
                )
            log(f"postgres already running on 127.0.0.1:{port} ({pgdata})")
            _archive_or_restart(bindir, home, port, fast)
        else:
            if _port_open(port):
                # Someone else's server: never create roles in it behind their back.
                raise ServiceError(
                    f"port {port} is in use by another process; stop it, pick another "
                    "port, or point DATABASE_URL at your own server"
                )
            if not (pgdata / "PG_VERSION").exists():
                _initdb(bindir, pgdata)
            _check_traversable(pgdata)
            sockdir = _socket_dir(pgdata)
            if sockdir != pgdata:
                sockdir.mkdir(mode=0o700, exist_ok=True)
                _chown_to_pg_user(sockdir)
            _write_pg_conf(pgdata, port, sockdir, fast, archive_settings(home))
            logfile.touch()
            _chown_to_pg_user(logfile)
            log(f"starting postgres on 127.0.0.1:{port} ({pgdata}{', fast' if fast else ''})")
            _pg_ctl_start(bindir, pgdata, logfile, port, "postgres")
        _ensure_role_and_db(port)
    return pg_url(port)


def wal_archive_dir(home: Path) -> Path:
    return home / "wal-archive"


def archive_settings(home: Path) -> dict[str, str]:
    """WAL archiving into <pg_home>/wal-archive, for point-in-time restores (scripts/backup.py).

    A segment is archived when full, or after archive_timeout when quieter: that bounds the data a
    lost server takes with it (the RPO) to about a minute. `backup.py base` prunes what the latest
    base backup no longer needs.
    """
    archive = wal_archive_dir(home)
    archive.mkdir(mode=0o700, exist_ok=True)
    _chown_to_pg_user(archive)
    return {
        "archive_mode": "on",
        "archive_command": f"'test ! -f {archive}/%f && cp %p {archive}/%f'",
        "archive_timeout": "60",
    }


def _archive_or_restart(bindir: Path, home: Path, port: int, fast: bool) -> None:
    """A server started before WAL archiving was configured gets it now (archive_mode needs a restart)."""
    admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    if _psql(admin, "SHOW archive_mode") == "on":
        return
    pgdata = home / "pg"
    log(f"restarting postgres on 127.0.0.1:{port} to turn WAL archiving on")
    _write_pg_conf(pgdata, port, _socket_dir(pgdata), fast, archive_settings(home))
    _run(
        _as_pg_user(
            [str(bindir / "pg_ctl"), "restart", "-w", "-m", "fast", "-D", str(pgdata), "-l", str(home / "postgres.log")]
        ),
        check=True,
        capture_output=True,
        cwd=pgdata,
    )
    if not _wait_for_port(port, 10):
        raise ServiceError(f"postgres did not come back after its restart\n{_tail(home / 'postgres.log')}")


def _initdb(bindir: Path, pgdata: Path) -> None:
    log(f"initdb {pgdata}")
    if pgdata.exists() and any(pgdata.iterdir()):
        raise ServiceError(f"{pgdata} exists but holds no cluster; remove it and retry")
    pgdata.mkdir(parents=True, exist_ok=True)
    pgdata.chmod(0o700)
    _chown_to_pg_user(pgdata)
    _check_traversable(pgdata)
    cmd = [str(bindir / "initdb"), "-D", str(pgdata), "--auth=trust", "-U", "postgres"]
    cmd += ["--encoding=UTF8", "--locale=C", "--no-instructions"]
    res = _run(_as_pg_user(cmd), check=False, capture_output=True, cwd=pgdata)
    if res.returncode != 0 and "--no-instructions" in res.stderr:  # PostgreSQL < 13
        cmd.remove("--no-instructions")
        res = _run(_as_pg_user(cmd), check=False, capture_output=True, cwd=pgdata)
    if res.returncode != 0:
        raise ServiceError(f"initdb failed: {res.stderr.strip() or res.stdout.strip()}")


def _ensure_role_and_db(port: int) -> None:
    admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    # Superuser so the app's migrations can CREATE EXTENSION pg_trgm; dev/test only.
    if _psql(admin, f"SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}'") != "1":
        log(f"creating role {APP_ROLE}")
        _psql(admin, f"CREATE ROLE {APP_ROLE} LOGIN SUPERUSER PASSWORD '{APP_PASSWORD}'")
    if _psql(admin, f"SELECT 1 FROM pg_database WHERE datname = '{APP_DB}'") != "1":
        log(f"creating database {APP_DB}")
        _psql(admin, f"CREATE DATABASE {APP_DB} OWNER {APP_ROLE}")


def pg_url(port: int, db: str = APP_DB) -> str:
    return f"postgresql+psycopg://{APP_ROLE}:{APP_PASSWORD}@127.0.0.1:{port}/{db}"


def _psql(url: str, sql: str) -> str:
    """Run SQL on the server of a (SQLAlchemy) URL, connected to its `postgres` database."""
    parts = urlsplit(url)
    bindir = find_pg_bindir() or Path("/nonexistent")
    cmd = [_pg_tool(bindir, "psql"), "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    cmd += ["-U", parts.username or APP_ROLE, "-d", "postgres", "-X", "-q", "-t", "-A"]
    cmd += ["-v", "ON_ERROR_STOP=1", "-c", sql]
    env = dict(os.environ, PGCONNECT_TIMEOUT="5", PGPASSWORD=parts.password or "")
    res = _run(cmd, check=False, capture_output=True, env=env)
    if res.returncode != 0:
        raise ServiceError(f"psql failed: {res.stderr.strip()}")
    return res.stdout.strip()


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def create_database(url: str, name: str, *, template: str | None = None) -> str:
    """Create database `name` on url's server if missing; return url pointing at it.

    `template` clones an existing (migrated, idle) database, which is much
    faster than migrating each test database from scratch.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise ValueError(f"unsafe database name: {name!r}")
    owner = urlsplit(url).username or APP_ROLE
    if _psql(url, f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":
        sql = f'CREATE DATABASE "{name}" OWNER "{owner}"'
        if template:
            sql += f' TEMPLATE "{template}"'
        _psql(url, sql)
    return _with_db(url, name)


def drop_database(url: str, name: str) -> None:
    """Drop database `name` (disconnecting its sessions) if it exists."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise ValueError(f"unsafe database name: {name!r}")
    _psql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_ctl_start(bindir: Path, pgdata: Path, logfile: Path, port: int, what: str) -> None:
    res = _run(
        _as_pg_user([str(bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(pgdata), "-l", str(logfile)]),
        check=False,
        capture_output=True,
        cwd=pgdata,
    )
    if res.returncode != 0 or not _wait_for_port(port, 10):
        raise ServiceError(f"{what} failed to start: {res.stderr.strip()}\n--- {logfile} ---\n{_tail(logfile)}")


def _pg_ctl_stop(pgdata: Path, what: str) -> None:
    bindir = find_pg_bindir()
    if bindir is None or not _pg_running(bindir, pgdata):
        return
    log(f"stopping {what} ({pgdata})")
    _run(
        _as_pg_user([str(bindir / "pg_ctl"), "stop", "-m", "fast", "-w", "-D", str(pgdata)]),
        check=False,
        stdout=subprocess.DEVNULL,
        cwd=pgdata,
    )


def stop_postgres(datadir: Path) -> None:
    _pg_ctl_stop(pg_home(datadir) / "pg", "postgres")


# --------------------------------------------------------------------------- streaming replica

REPLICA_SLOT = "koinonia_replica"


def ensure_replica(datadir: Path, primary_port: int, port: int, fast: bool = False) -> str:
    """Start (or reuse) a streaming replica of datadir's PostgreSQL under <pg_home>/pg-replica.

    Made once with `pg_basebackup -R` (a physical slot keeps the WAL it still needs); later
    `up`s only start it again. Returns the app's URL on the replica.
    """
    datadir = Path(datadir).resolve()
    bindir = find_pg_bindir()
    if bindir is None:
        raise ServiceError("PostgreSQL server binaries not found; run `python scripts/services.py packages`")
    with _locked(datadir):
        home = pg_home(datadir)
        rdata = home / "pg-replica"
        logfile = home / "postgres-replica.log"
        if _pg_running(bindir, rdata):
            log(f"replica already running on 127.0.0.1:{port} ({rdata})")
            return pg_url(port)
        if _port_open(port):
            raise ServiceError(f"port {port} (the replica's) is in use by another process; pick another")
        primary = f"postgresql://postgres@127.0.0.1:{primary_port}/postgres"
        if not (rdata / "PG_VERSION").exists():
            if rdata.exists():
                shutil.rmtree(rdata)
            # A slot left by an earlier replica whose data is gone would hold WAL for nobody.
            _psql(
                primary,
                f"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                f"WHERE slot_name = '{REPLICA_SLOT}' AND NOT active",
            )
            rdata.mkdir(parents=True)
            rdata.chmod(0o700)
            _chown_to_pg_user(rdata)
            log(f"pg_basebackup -R from 127.0.0.1:{primary_port} into {rdata}")
            cmd = [_pg_tool(bindir, "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres"]
            cmd += ["-D", str(rdata), "-R", "-X", "stream", "-C", "-S", REPLICA_SLOT, "--checkpoint=fast"]
            res = _run(_as_pg_user(cmd), check=False, capture_output=True, cwd=rdata)
            if res.returncode != 0:
                shutil.rmtree(rdata, ignore_errors=True)
                raise ServiceError(f"pg_basebackup failed: {res.stderr.strip()}")
        sockdir = _socket_dir(rdata)
        if sockdir != rdata:
            sockdir.mkdir(mode=0o700, exist_ok=True)
            _chown_to_pg_user(sockdir)
        # The copied koinonia.conf names the primary's port and archive: this one is the replica's.
        _write_pg_conf(rdata, port, sockdir, fast, {"archive_mode": "off"})
        logfile.touch()
        _chown_to_pg_user(logfile)
        log(f"starting replica on 127.0.0.1:{port} ({rdata})")
        _pg_ctl_start(bindir, rdata, logfile, port, "replica")
    return pg_url(port)


def stop_replica(datadir: Path) -> None:
    _pg_ctl_stop(pg_home(datadir) / "pg-replica", "replica")


# --------------------------------------------------------------------------- PgBouncer


def find_pgbouncer() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/local/bin/pgbouncer") if os.access(p, os.X_OK)), None
    )


def ensure_pgbouncer(datadir: Path, pg_port: int, port: int) -> str:
    """Start (or reuse) a PgBouncer in transaction mode in front of datadir's PostgreSQL; return its URL.

    Every database of the server is reachable through it under the app's role and password.
    It runs as the PostgreSQL user when we are root (PgBouncer refuses root), from <pg_home>/pgbouncer.
    """
    datadir = Path(datadir).resolve()
    binary = find_pgbouncer()
    if not binary:
        raise ServiceError("pgbouncer not found; run `python scripts/services.py packages --pgbouncer`")
    with _locked(datadir):
        bdir = pg_home(datadir) / "pgbouncer"
        pidfile = bdir / "pgbouncer.pid"
        pid = _read_pid(pidfile)
        if pid is not None and _pid_alive(pid) and _port_open(port):
            log(f"pgbouncer already running on 127.0.0.1:{port} ({bdir})")
            return pg_url(port)
        if _port_open(port):
            raise ServiceError(f"port {port} (PgBouncer's) is in use by another process; pick another")
        bdir.mkdir(mode=0o755, parents=True, exist_ok=True)
        _chown_to_pg_user(bdir)
        users = bdir / "userlist.txt"
        users.write_text(f'"{APP_ROLE}" "{APP_PASSWORD}"\n')
        ini = bdir / "pgbouncer.ini"
        ini.write_text(
            "; Written by scripts/services.py on every `up`; edit that script instead.\n"
            "[databases]\n"
            f"* = host=127.0.0.1 port={pg_port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = md5\nauth_file = {users}\n"
            "pool_mode = transaction\n"
            "max_client_conn = 500\ndefault_pool_size = 20\nmax_db_connections = 60\n"
            # psycopg sends these at connect; PgBouncer must let them through.
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {bdir / 'pgbouncer.log'}\npidfile = {pidfile}\n"
        )
        for path in (users, ini):
            path.chmod(0o600)
            _chown_to_pg_user(path)
        pidfile.unlink(missing_ok=True)
        log(f"starting pgbouncer (transaction pooling) on 127.0.0.1:{port} -> {pg_port} ({bdir})")
        res = _run(_as_pg_user([binary, "-d", "-q", str(ini)]), check=False, capture_output=True, cwd=bdir)
        if res.returncode != 0 or not _wait_for_port(port, 10):
            raise ServiceError(f"pgbouncer failed to start: {res.stderr.strip()}\n{_tail(bdir / 'pgbouncer.log')}")
    return pg_url(port)


def stop_pgbouncer(datadir: Path) -> None:
    pidfile = pg_home(datadir) / "pgbouncer" / "pgbouncer.pid"
    pid = _read_pid(pidfile)
    if pid is None or not _pid_alive(pid):
        return
    log(f"stopping pgbouncer (pid {pid})")
    os.kill(pid, signal.SIGINT)  # SIGINT: shut down now (SIGTERM waits for every client to leave)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _pid_alive(pid):
        time.sleep(0.05)


# --------------------------------------------------------------------------- Redis


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def ensure_redis(datadir: Path, port: int, *, aof: bool = False) -> str:
    """Start (or reuse) a Redis under datadir/redis; return its URL.

    `aof`: keep an append-only file (fsync every second), as production does, so a restart
    keeps the queues. Throwaway test servers run without it.
    """
    datadir = Path(datadir).resolve()
    rdir = datadir / "redis"
    pidfile = rdir / "redis.pid"
    logfile = rdir / "redis.log"
    url = f"redis://127.0.0.1:{port}/0"

    with _locked(datadir):
        pid = _read_pid(pidfile)
        ours = pid is not None and _pid_alive(pid)
        if ours and _redis_ping(port):
            log(f"redis already running on 127.0.0.1:{port} ({rdir})")
            return url
        if ours:
            raise ServiceError(
                f"a redis from {rdir} (pid {pid}) runs but does not answer on port {port}; "
                f"run `python scripts/services.py down --dir {datadir}` first"
            )
        if _port_open(port):
            raise ServiceError(
                f"port {port} is in use by another process; stop it, pick another "
                "port, or point REDIS_URL at your own server"
            )
        server = shutil.which("redis-server")
        if not server:
            raise ServiceError("redis-server not found; run `python scripts/services.py packages`")
        rdir.mkdir(parents=True, exist_ok=True)
        pidfile.unlink(missing_ok=True)
        log(f"starting redis on 127.0.0.1:{port} ({rdir}{', append-only file' if aof else ''})")
        cmd = [server, "--daemonize", "yes", "--port", str(port), "--bind", "127.0.0.1"]
        cmd += ["--dir", str(rdir), "--save", ""]
        cmd += ["--appendonly", "yes", "--appendfsync", "everysec"] if aof else ["--appendonly", "no"]
        cmd += ["--pidfile", str(pidfile), "--logfile", str(logfile)]
        res = _run(cmd, check=False, capture_output=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _redis_ping(port):
            time.sleep(0.05)
        if res.returncode != 0 or not _redis_ping(port):
            raise ServiceError(f"redis failed to start: {res.stderr.strip()}\n{_tail(logfile)}")
    return url


def stop_redis(datadir: Path) -> None:
    rdir = Path(datadir).resolve() / "redis"
    pidfile = rdir / "redis.pid"
    pid = _read_pid(pidfile)
    if pid is None or not _pid_alive(pid):
        pidfile.unlink(missing_ok=True)
        return
    log(f"stopping redis (pid {pid})")
    # SIGTERM is a clean shutdown: the append-only file (when on) is flushed, no RDB is written.
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _pid_alive(pid):
        time.sleep(0.05)
    if _pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    pidfile.unlink(missing_ok=True)


def stop(datadir: Path) -> None:
    """Stop the PostgreSQL and Redis servers of datadir (no-op for those not running)."""
    datadir = Path(datadir)
    if not datadir.exists():
        return
    with _locked(datadir):
        stop_pgbouncer(datadir)
        stop_replica(datadir)
        stop_postgres(datadir)
        stop_redis(datadir)


# --------------------------------------------------------------------------- system packages


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def missing_packages(
    *,
    need_postgres: bool = True,
    need_redis: bool = True,
    need_browser: bool = False,
    need_pgbouncer: bool = False,
    commands: dict | None = None,
) -> list[str]:
    """Debian package names for what is missing on this machine.

    `commands` maps more programs to their packages, e.g. {"haproxy": "haproxy"}.
    """
    missing = []
    if need_pgbouncer and not find_pgbouncer():
        missing.append("pgbouncer")
    if need_postgres and find_pg_bindir() is None:
        missing.append("postgresql")
    if need_redis and not shutil.which("redis-server"):
        missing.append("redis-server")
    if need_browser and not find_chromium():
        missing.append("chromium")
    for command, package in (commands or {}).items():
        if not shutil.which(command) and not os.access(f"/usr/sbin/{command}", os.X_OK):
            missing.append(package)
    return missing


def ensure_system_packages(
    need_browser: bool = False,
    *,
    need_postgres: bool = True,
    need_redis: bool = True,
    need_pgbouncer: bool = False,
    commands: dict | None = None,
) -> None:
    """Install missing servers (and Chromium when asked) with apt, as root on Debian/Ubuntu.

    Elsewhere, say what to install and exit non-zero.
    """
    needs = {"need_postgres": need_postgres, "need_redis": need_redis, "need_browser": need_browser}
    needs["need_pgbouncer"] = need_pgbouncer
    missing = missing_packages(**needs, commands=commands)
    if not missing:
        return
    if not (_is_root() and shutil.which("apt-get")):
        log(
            f"missing: {' '.join(missing)}. Install them (Debian/Ubuntu: `sudo apt-get install "
            f"{' '.join(missing)}`; macOS: `brew install postgresql@16 redis` and a Chromium), then re-run."
        )
        raise SystemExit(1)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    log(f"installing {' '.join(missing)} with apt-get")
    quiet = {"stdout": subprocess.DEVNULL}
    _run(["apt-get", "update", "-qq"], env=env, **quiet)
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"]
    _run([*install, "-o", "Dpkg::Options::=--force-confold", *missing], env=env, **quiet)
    still = missing_packages(**needs, commands=commands)
    if still:
        log(f"apt-get install finished but these are still missing: {' '.join(still)}")
        raise SystemExit(1)


# --------------------------------------------------------------------------- CLI


def _cmd_up(args: argparse.Namespace) -> int:
    bouncer = bool(args.pgbouncer_port) and not args.no_postgres
    ensure_system_packages(
        args.browser,
        need_postgres=not args.no_postgres,
        need_redis=not args.no_redis,
        # Installed where we may (root with apt); elsewhere PgBouncer is optional: see below.
        need_pgbouncer=bouncer and _is_root() and bool(shutil.which("apt-get")),
    )
    datadir = Path(args.dir)
    exports = {}
    if not args.no_postgres:
        exports[f"{args.env_prefix}DATABASE_URL"] = ensure_postgres(datadir, args.pg_port, fast=args.fast)
        if args.replica_port:
            url = ensure_replica(datadir, args.pg_port, args.replica_port, fast=args.fast)
            exports[f"{args.env_prefix}DATABASE_REPLICA_URL"] = url
        if bouncer and find_pgbouncer():
            url = ensure_pgbouncer(datadir, args.pg_port, args.pgbouncer_port)
            exports[f"{args.env_prefix}PGBOUNCER_URL"] = url
        elif bouncer:
            log("pgbouncer is not installed: its tests are skipped (apt-get install pgbouncer, brew install pgbouncer)")
    if not args.no_redis:
        # Dev keeps its queues across restarts (AOF), as production does; --fast test servers do not.
        exports[f"{args.env_prefix}REDIS_URL"] = ensure_redis(datadir, args.redis_port, aof=not args.fast)
    for name, value in exports.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    stop(Path(args.dir))
    return 0


def _cmd_packages(args: argparse.Namespace) -> int:
    ensure_system_packages(
        args.browser, need_postgres=not args.no_postgres, need_redis=not args.no_redis, need_pgbouncer=args.pgbouncer
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def add_needs(p: argparse.ArgumentParser) -> None:
        p.add_argument("--browser", action="store_true", help="also make sure Chromium is installed")
        p.add_argument("--no-postgres", action="store_true", help="the caller brings its own PostgreSQL")
        p.add_argument("--no-redis", action="store_true", help="the caller brings its own Redis")

    up = sub.add_parser("up", help="start (or reuse) PostgreSQL and Redis; print export lines")
    up.add_argument("--dir", required=True, help="data directory, e.g. .var/dev")
    up.add_argument("--pg-port", type=int, default=54329)
    up.add_argument("--redis-port", type=int, default=63799)
    up.add_argument("--replica-port", type=int, default=0, help="also a streaming replica on this port")
    up.add_argument("--pgbouncer-port", type=int, default=0, help="also PgBouncer (transaction mode) on this port")
    up.add_argument("--fast", action="store_true", help="no fsync: for throwaway test data")
    up.add_argument("--env-prefix", default="", help="prefix for the exported names, e.g. TEST_")
    add_needs(up)
    up.set_defaults(func=_cmd_up)

    down = sub.add_parser("down", help="stop the servers of a data directory")
    down.add_argument("--dir", required=True)
    down.set_defaults(func=_cmd_down)

    pkgs = sub.add_parser("packages", help="install missing PostgreSQL/Redis (and Chromium) with apt")
    add_needs(pkgs)
    pkgs.add_argument("--pgbouncer", action="store_true", help="also make sure PgBouncer is installed")
    pkgs.set_defaults(func=_cmd_packages)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ServiceError, subprocess.CalledProcessError) as exc:
        log(f"error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
