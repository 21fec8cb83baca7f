#!/usr/bin/env bash
# The API fuzzer the tests run against the OpenAPI document: schemathesis (PyPI), in a venv
# under .local/fuzz (git-ignored). Idempotent: a second run with the tool in place does nothing.
#
#   scripts/fuzz-tools.sh install   # prints the path of the `st` command on stdout
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.local/fuzz/venv"
SCHEMATHESIS_VERSION="4.32.5"

log() { echo "fuzz-tools.sh: $*" >&2; }

case "${1:-install}" in
  install)
    if [ -x "$VENV/bin/st" ] && [ "$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" = "$SCHEMATHESIS_VERSION" ]; then
      echo "$VENV/bin/st"
      exit 0
    fi
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" 2>/dev/null; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing python3-venv with apt-get"
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip >&2
      fi
    fi
    log "creating $VENV with schemathesis $SCHEMATHESIS_VERSION (one-time)"
    rm -rf "$VENV"
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
    echo "$VENV/bin/st"
    ;;
  *)
    echo "usage: scripts/fuzz-tools.sh install" >&2
    exit 2
    ;;
esac
