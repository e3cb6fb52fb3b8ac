#!/usr/bin/env bash
# Make .venv exist and match requirements-dev.txt. Cheap when nothing changed,
# so every make target can call it first.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.requirements.sha256"

python_ok() {  # is "$1" a Python 3.11 or newer?
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1
}

# A venv whose interpreter vanished (pyenv version removed, moved checkout) is rebuilt.
if [ -d "$VENV" ] && ! python_ok "$VENV/bin/python"; then
    echo "bootstrap: $VENV is broken or older than Python 3.11; recreating it" >&2
    rm -rf "$VENV"
fi

if [ ! -x "$VENV/bin/python" ]; then
    PY=""
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
            PY=$candidate
            break
        fi
    done
    if [ -z "$PY" ]; then
        echo "bootstrap: Python 3.11+ is required (install python3.11, e.g. apt-get install python3.11-venv)" >&2
        exit 1
    fi
    echo "bootstrap: creating $VENV with $($PY --version)" >&2
    "$PY" -m venv "$VENV"
fi

# requirements-dev.txt includes requirements.txt, so both feed the stamp.
want=$("$VENV/bin/python" - <<'EOF'
import hashlib, pathlib
h = hashlib.sha256()
for name in ("requirements.txt", "requirements-dev.txt"):
    h.update(pathlib.Path(name).read_bytes())
print(h.hexdigest())
EOF
)
have=$(cat "$STAMP" 2>/dev/null || true)

if [ "$want" != "$have" ]; then
    echo "bootstrap: installing requirements-dev.txt into $VENV" >&2
    PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
        "$VENV/bin/python" -m pip install --quiet -r requirements-dev.txt
    # Written only after a successful install, so a failed one is retried next time.
    echo "$want" >"$STAMP"
fi
