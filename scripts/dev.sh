#!/usr/bin/env bash
# The body of `make dev`: provision everything, then run the simulator, gunicorn
# and one RQ worker in the foreground until Ctrl-C.
#
#   scripts/dev.sh              set up and serve (make dev)
#   scripts/dev.sh migrate      set up and run `flask db upgrade` only (make migrate)
#   scripts/dev.sh run CMD...   run any command in the dev environment, e.g.
#                               scripts/dev.sh run .venv/bin/flask --app wsgi create-admin
#
# Precedence of settings: the caller's environment, then .env, then the defaults below.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-serve}
[ $# -gt 0 ] && shift
case "$MODE" in serve | migrate | run) ;; *)
    echo "usage: scripts/dev.sh [serve | migrate | run CMD...]" >&2
    exit 2
    ;;
esac

PY=.venv/bin/python
DEV_DIR=.var/dev

scripts/bootstrap.sh

# .env, parsed by python-dotenv exactly as Flask's CLI would, but never
# overriding a variable the caller already set.
if [ -f .env ]; then
    dotenv_exports=$("$PY" - <<'EOF'
import os, shlex
from dotenv import dotenv_values
for key, value in dotenv_values(".env").items():
    if value is not None and key.isidentifier() and key not in os.environ:
        print(f"export {key}={shlex.quote(value)}")
EOF
)
    eval "$dotenv_exports"
fi

# Our own PostgreSQL / Redis only for what the caller did not point elsewhere.
up_flags=()
[ -n "${DATABASE_URL:-}" ] && up_flags+=(--no-postgres)
[ -n "${REDIS_URL:-}" ] && up_flags+=(--no-redis)
service_exports=$("$PY" scripts/services.py up --dir "$DEV_DIR" \
    --pg-port "${DEV_PG_PORT:-54329}" --redis-port "${DEV_REDIS_PORT:-63799}" \
    ${up_flags[@]+"${up_flags[@]}"})
eval "$service_exports"

# A stable SECRET_KEY across restarts keeps people logged in.
if [ -z "${SECRET_KEY:-}" ]; then
    keyfile="$DEV_DIR/secret_key"
    if [ ! -s "$keyfile" ]; then
        mkdir -p "$DEV_DIR"
        (umask 077 && "$PY" -c 'import secrets; print(secrets.token_urlsafe(48))' >"$keyfile")
    fi
    SECRET_KEY=$(cat "$keyfile")
fi

# Web Push keys (VAPID), kept like the secret key so browsers' subscriptions survive restarts.
if [ -z "${VAPID_PUBLIC_KEY:-}" ] && [ -z "${VAPID_PRIVATE_KEY:-}" ]; then
    vapidfile="$DEV_DIR/vapid_keys"
    if [ ! -s "$vapidfile" ]; then
        mkdir -p "$DEV_DIR"
        (umask 077 && "$PY" -m app.notifications.vapid >"$vapidfile")
    fi
    VAPID_PUBLIC_KEY=$(sed -n 's/^VAPID_PUBLIC_KEY=//p' "$vapidfile")
    VAPID_PRIVATE_KEY=$(sed -n 's/^VAPID_PRIVATE_KEY=//p' "$vapidfile")
    export VAPID_PUBLIC_KEY VAPID_PRIVATE_KEY
fi
export VAPID_SUBJECT=${VAPID_SUBJECT:-mailto:admin@example.org}

export PORT=${PORT:-8000}
export SIMULATOR_PORT=${SIMULATOR_PORT:-8025}
export SECRET_KEY
export APP_BASE_URL=${APP_BASE_URL:-http://127.0.0.1:$PORT}
export SMS_PROVIDER=${SMS_PROVIDER:-simulator}
export KOINONIA_ENV=${KOINONIA_ENV:-development}
export LOG_FORMAT=${LOG_FORMAT:-console}
if [ "$SMS_PROVIDER" = simulator ]; then
    export TELNYX_API_BASE=${TELNYX_API_BASE:-http://127.0.0.1:$SIMULATOR_PORT/v2}
    # Where the simulator posts events for messages that name no webhook_url.
    export SIM_WEBHOOK_URL=${SIM_WEBHOOK_URL:-$APP_BASE_URL/webhooks/telnyx}
    # The simulator signs webhooks with its key in .var/dev (created on first
    # use); the app must verify them with the matching public key.
    if [ -z "${TELNYX_PUBLIC_KEY:-}" ]; then
        TELNYX_PUBLIC_KEY=$("$PY" -m app.delivery.simulator public-key)
        export TELNYX_PUBLIC_KEY
    fi
fi
# Mail goes to the caller's SMTP_URL when set; otherwise to the simulator process's SMTP sink,
# which lists what it received at http://127.0.0.1:$SIMULATOR_PORT/mail.
MAIL_SINK=0
if [ -z "${SMTP_URL:-}" ]; then
    MAIL_SINK=1
    export SMTP_SINK_PORT=${SMTP_SINK_PORT:-$((SIMULATOR_PORT + 1))}
    export SMTP_URL=smtp://127.0.0.1:$SMTP_SINK_PORT
fi
RUN_SIMULATOR=0
{ [ "$SMS_PROVIDER" = simulator ] || [ "$MAIL_SINK" = 1 ]; } && RUN_SIMULATOR=1
# Planning Center: the simulator's fake (under /pco) unless the caller names a server.
if [ "$RUN_SIMULATOR" = 1 ]; then
    export PCO_API_BASE=${PCO_API_BASE:-http://127.0.0.1:$SIMULATOR_PORT/pco}
fi
export PYTHONUNBUFFERED=1 # logs appear as they happen, interleaved in order

if [ "$MODE" = run ]; then
    exec "$@"
fi

.venv/bin/flask --app wsgi db upgrade
if [ "$MODE" = migrate ]; then
    exit 0
fi
.venv/bin/flask --app wsgi seed-demo

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$PORT" $([ "$RUN_SIMULATOR" = 1 ] && echo "$SIMULATOR_PORT") $([ "$MAIL_SINK" = 1 ] && echo "$SMTP_SINK_PORT"); do
    if port_busy "$p"; then
        echo "dev: port $p is already in use (another make dev?); set PORT / SIMULATOR_PORT / SMTP_SINK_PORT to move" >&2
        exit 1
    fi
done

# Each child gets its own process group (started under set -m), so on exit we
# can signal a child together with whatever it forked (gunicorn workers, RQ
# work horses). Monitor mode is switched off again right after, so that the
# terminal's Ctrl-C still reaches this script (and make) rather than a job.
pids=()
names=()
start() {
    local name=$1
    shift
    "$@" &
    pids+=($!)
    names+=("$name")
}

stopping=0
cleanup() {
    trap - INT TERM EXIT
    [ "$stopping" = 1 ] && return
    stopping=1
    # Finish the cleanup whatever happens: no errexit, and no death by SIGPIPE
    # when the terminal or a `| tee` went away first.
    set +e
    trap '' PIPE INT TERM
    echo >&2
    echo "dev: stopping…" >&2
    local pid i alive
    # TERM the leaders first: gunicorn and RQ shut their children down gracefully.
    for pid in ${pids[@]+"${pids[@]}"}; do kill -TERM "$pid" 2>/dev/null || true; done
    for i in $(seq 100); do # up to 10 s for in-flight requests and jobs
        alive=0
        for pid in ${pids[@]+"${pids[@]}"}; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in ${pids[@]+"${pids[@]}"}; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    # Ctrl-C stops everything make dev started, our PostgreSQL/Redis included
    # (their data stays in .var/dev for next time).
    "$PY" scripts/services.py down --dir "$DEV_DIR" || true
}
trap cleanup EXIT
trap 'exit 0' INT # Ctrl-C is how make dev is meant to stop
trap 'exit 143' TERM

set -m
if [ "$RUN_SIMULATOR" = 1 ]; then
    start simulator "$PY" -m app.delivery.simulator --port "$SIMULATOR_PORT" \
        $([ "$MAIL_SINK" = 1 ] && echo "--smtp-port $SMTP_SINK_PORT")
fi
start gunicorn .venv/bin/gunicorn -c gunicorn.conf.py --bind "127.0.0.1:$PORT" wsgi:app
start worker "$PY" worker.py
set +m

# Print the banner once gunicorn accepts connections (or after 30 s regardless).
for _ in $(seq 300); do
    port_busy "$PORT" && break
    sleep 0.1
done
cat >&2 <<EOF

  Koinonia is running at $APP_BASE_URL
  SMS provider: $SMS_PROVIDER$([ "$SMS_PROVIDER" = simulator ] && echo " (simulator on 127.0.0.1:$SIMULATOR_PORT)")$([ "$SMS_PROVIDER" = simulator ] && printf '\n  Text in as a member, see what was sent, switch on faults: http://127.0.0.1:%s/' "$SIMULATOR_PORT")
  Mail: $([ "$MAIL_SINK" = 1 ] && echo "caught by the SMTP sink, read it at http://127.0.0.1:$SIMULATOR_PORT/mail" || echo "sent through $(echo "$SMTP_URL" | sed -E 's#//[^@/]*@#//#')")
  Planning Center: $([ "${PCO_API_BASE:-}" = "http://127.0.0.1:$SIMULATOR_PORT/pco" ] && echo "the simulator's fake at $PCO_API_BASE (any application ID and secret connect)" || echo "${PCO_API_BASE:-https://api.planningcenteronline.com}")

  Demo logins (password koinonia-demo):
    admin@example.org        Grace Community Church, owner
    leader@example.org       Grace Community Church, Youth leader
    admin@hope.example.org   Hope Chapel, owner

  Ctrl-C stops everything.

EOF

# If any child dies, stop the rest: a half-running stack only confuses.
while :; do
    for i in "${!pids[@]}"; do
        if ! kill -0 "${pids[$i]}" 2>/dev/null; then
            rc=0
            wait "${pids[$i]}" || rc=$?
            echo "dev: ${names[$i]} exited (status $rc); stopping the rest" >&2
            exit 1
        fi
    done
    sleep 1
done
