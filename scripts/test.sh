#!/usr/bin/env bash
# The body of `make test`: throwaway PostgreSQL + Redis under .var/test, then
# the whole pytest suite (e2e included). Arguments go to pytest unchanged:
#   scripts/test.sh -k inbox -x        make test ARGS='-k inbox -x'
#
# The servers are left running afterwards so the next run starts instantly;
# `make test-down` stops them. Tests read TEST_DATABASE_URL / TEST_REDIS_URL
# (set them yourself to use other servers; then none is started here).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python

scripts/bootstrap.sh

up_flags=(--browser) # Playwright drives Debian's Chromium (see CHROMIUM_PATH below)
TEST_PG_PORT=${TEST_PG_PORT:-54339}
# A streaming replica of the test server (tests/integration/test_replica.py), on a port derived
# from TEST_PG_PORT so that parallel checkouts keep apart.
# PgBouncer in transaction mode in front of it likewise (tests/integration/test_pgbouncer.py).
TEST_REPLICA_PORT=${TEST_REPLICA_PORT:-$((TEST_PG_PORT + 200))}
TEST_PGBOUNCER_PORT=${TEST_PGBOUNCER_PORT:-$((TEST_PG_PORT + 300))}
if [ -n "${TEST_DATABASE_URL:-}" ]; then
    TEST_DATABASE_URL_GIVEN=1
    up_flags+=(--no-postgres)
else
    up_flags+=(--replica-port "$TEST_REPLICA_PORT" --pgbouncer-port "$TEST_PGBOUNCER_PORT")
fi
[ -n "${TEST_REDIS_URL:-}" ] && up_flags+=(--no-redis)
service_exports=$("$PY" scripts/services.py up --dir .var/test --fast --env-prefix TEST_ \
    --pg-port "$TEST_PG_PORT" --redis-port "${TEST_REDIS_PORT:-63809}" "${up_flags[@]}")
eval "$service_exports"
export TEST_DATABASE_URL TEST_REDIS_URL
[ -n "${TEST_DATABASE_REPLICA_URL:-}" ] && export TEST_DATABASE_REPLICA_URL
[ -n "${TEST_PGBOUNCER_URL:-}" ] && export TEST_PGBOUNCER_URL
# The restore drill (tests/integration/test_restore_drill.py) backs up the server started here.
[ -z "${TEST_DATABASE_URL_GIVEN:-}" ] && export TEST_PG_DIR="$PWD/.var/test"
# Tests use only the TEST_ servers: a dev DATABASE_URL left in the shell must
# never be the database a test truncates.
unset DATABASE_URL DATABASE_REPLICA_URL REDIS_URL

# Playwright cannot download its own browser build here, so the suite launches
# the system Chromium at this path (browser_type_launch_args executable_path).
if [ -z "${CHROMIUM_PATH:-}" ]; then
    CHROMIUM_PATH=$("$PY" -c 'import sys; sys.path.insert(0, "scripts"); import services; print(services.find_chromium() or "")')
fi
export CHROMIUM_PATH

rc=0
"$PY" -m pytest "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
    # pytest's "no tests collected" must not pass for a green run.
    echo "make test: pytest collected no tests (exit 5); failing" >&2
    exit 1
fi
exit "$rc"
