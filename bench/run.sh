#!/usr/bin/env bash
# The body of `make bench`: the benchmarks run against the same throwaway PostgreSQL and
# Redis as `make test` (each bench builds its own database there) and print their figures.
#   make bench                         every benchmark, one after the other (long: the inbox
#                                      and dashboard benches build millions of rows first)
#   make bench ARGS='member_search'    one of them; extra words go to it, e.g.
#   make bench ARGS='dashboard --reuse'
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
scripts/bootstrap.sh
TEST_PG_PORT=${TEST_PG_PORT:-54339}
service_exports=$("$PY" scripts/services.py up --dir .var/test --fast --env-prefix TEST_ \
    --pg-port "$TEST_PG_PORT" --redis-port "${TEST_REDIS_PORT:-63809}" \
    --pgbouncer-port "${TEST_PGBOUNCER_PORT:-$((TEST_PG_PORT + 300))}")
eval "$service_exports"
export TEST_DATABASE_URL TEST_REDIS_URL TEST_PGBOUNCER_URL
unset DATABASE_URL REDIS_URL

ALL=(simulator_throughput delivery_throughput broadcast_create webhook_intake member_search import_members
    inbox_throughput dashboard load pooled_search)
if [ $# -gt 0 ]; then
    name=${1%.py}
    shift
    exec "$PY" "bench/$name.py" "$@"
fi
for name in "${ALL[@]}"; do
    echo "=== bench/$name.py"
    "$PY" "bench/$name.py"
done
