#!/usr/bin/env bash
# The API fuzzer the tests run against the OpenAPI document: schemathesis (PyPI), in a venv
# under .local/fuzz (git-ignored). Idempotent: a second run with the tool in place does nothing.
#
#   scripts/fuzz-tools.sh install   # prints the path of the `st` command on stdout
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.local/fuzz/venv"
SCHEMATHESIS_VERSION="4.32.5"

. "$ROOT/scripts/venv.sh"

log() { echo "fuzz-tools.sh: $*" >&2; }

case "${1:-install}" in
  install)
    if [ -x "$VENV/bin/st" ] && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" = "$SCHEMATHESIS_VERSION" ]; then
      echo "$VENV/bin/st"
      exit 0
    fi
    log "creating $VENV with schemathesis $SCHEMATHESIS_VERSION (one-time)"
    venv_create "$VENV" "schemathesis==$SCHEMATHESIS_VERSION"
    echo "$VENV/bin/st"
    ;;
  *)
    echo "usage: scripts/fuzz-tools.sh install" >&2
    exit 2
    ;;
esac
