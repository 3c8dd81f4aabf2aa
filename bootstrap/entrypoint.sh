#!/usr/bin/env bash
# The image's entrypoint, run by tini as PID 1's only child.
#
# It only checks that the bootstrap can run, then replaces itself with it (exec), so
# SIGTERM from `docker stop` or RunPod reaches Python directly. Everything else, in
# order and idempotent, lives in the Python package next to this file.
set -Eeuo pipefail

readonly BOOTSTRAP_HOME="${PHOENIX_BOOTSTRAP_HOME:-/opt/phoenix}"
readonly PYTHON="${PHOENIX_BOOTSTRAP_PYTHON:-python3}"

die() {
    cat >&2
    exit 1
}

on_error() {
    echo "entrypoint.sh: line $1 failed before the bootstrap started" >&2
}

check_python() {
    if ! command -v "$PYTHON" >/dev/null 2>&1; then
        die <<MESSAGE
❌ The Python interpreter '$PYTHON' is missing, so Phoenix cannot start.
   Fix: use Phoenix's image unchanged, or set PHOENIX_BOOTSTRAP_PYTHON to an
   interpreter that has the comfyui-phoenix package installed.
MESSAGE
    fi
}

check_bootstrap() {
    if [[ ! -f "$BOOTSTRAP_HOME/bootstrap/__main__.py" ]]; then
        die <<MESSAGE
❌ The bootstrap is not in $BOOTSTRAP_HOME/bootstrap, so Phoenix cannot start.
   Fix: rebuild the image (the Dockerfile copies it there), or set
   PHOENIX_BOOTSTRAP_HOME to the folder that contains bootstrap/.
MESSAGE
    fi
}

main() {
    trap 'on_error $LINENO' ERR
    check_python
    check_bootstrap
    cd "$BOOTSTRAP_HOME"
    # No history of anything typed in this container's shells.
    export HISTFILE=/dev/null
    exec "$PYTHON" -m bootstrap "$@"
}

main "$@"
