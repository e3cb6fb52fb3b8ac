#!/bin/sh
# Container entrypoint (Dockerfile): a generated SECRET_KEY when none is given, and
# with the simulator as SMS provider, the app verifies webhooks with the public half
# of the simulator's signing key. Both live on a volume shared by the services.
# Then run the service's command.
set -eu
if [ -z "${SECRET_KEY:-}" ] && [ -n "${SECRET_KEY_FILE:-}" ]; then
    # No key given: make a random one on the shared volume, once (the link is atomic, so
    # services starting together agree on one key), and sign sessions with it from then on.
    if [ ! -s "$SECRET_KEY_FILE" ]; then
        tmp="$SECRET_KEY_FILE.$$"
        (umask 077 && python -c 'import secrets; print(secrets.token_urlsafe(48))' >"$tmp")
        ln "$tmp" "$SECRET_KEY_FILE" 2>/dev/null || true
        rm -f "$tmp"
    fi
    SECRET_KEY=$(cat "$SECRET_KEY_FILE")
    export SECRET_KEY
fi
if [ "${SMS_PROVIDER:-simulator}" = simulator ] && [ -z "${TELNYX_PUBLIC_KEY:-}" ] \
    && [ -n "${SIMULATOR_KEY_FILE:-}" ]; then
    # Creates the key on first use (O_EXCL, so concurrent starts agree on one key).
    TELNYX_PUBLIC_KEY=$(python -m app.delivery.simulator public-key --private-key-file "$SIMULATOR_KEY_FILE")
    export TELNYX_PUBLIC_KEY
fi
exec "$@"
