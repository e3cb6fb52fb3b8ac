#!/bin/sh
# Container entrypoint (Dockerfile): with the simulator as SMS provider, the app
# verifies webhooks with the public half of the simulator's signing key, which
# lives on a volume shared by the services. Then run the service's command.
set -eu
if [ "${SMS_PROVIDER:-simulator}" = simulator ] && [ -z "${TELNYX_PUBLIC_KEY:-}" ] \
    && [ -n "${SIMULATOR_KEY_FILE:-}" ]; then
    # Creates the key on first use (O_EXCL, so concurrent starts agree on one key).
    TELNYX_PUBLIC_KEY=$(python -m app.delivery.simulator public-key --private-key-file "$SIMULATOR_KEY_FILE")
    export TELNYX_PUBLIC_KEY
fi
exec "$@"
