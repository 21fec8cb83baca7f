#!/usr/bin/env bash
# The GTFS tools the tests use beside their own invariant checks: the offline validator
# `gtfs-guru` (MobilityData's rules, GTFS-Flex included) and the reader `partridge`, in a venv
# under .local/gtfs (git-ignored). Idempotent: a second run with the tools in place does nothing.
#
#   scripts/gtfs-tools.sh install   # prints the venv's python on stdout
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.local/gtfs/venv"
GTFS_GURU_VERSION="1.0.0"
PARTRIDGE_VERSION="1.1.2"

log() { echo "gtfs-tools.sh: $*" >&2; }

case "${1:-install}" in
  install)
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import gtfs_guru, partridge" 2>/dev/null; then
      echo "$VENV/bin/python"
      exit 0
    fi
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" 2>/dev/null; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing python3-venv with apt-get"
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip >&2
      fi
    fi
    log "creating $VENV with gtfs-guru $GTFS_GURU_VERSION and partridge $PARTRIDGE_VERSION (one-time)"
    rm -rf "$VENV"
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check \
      "gtfs-guru==$GTFS_GURU_VERSION" "partridge==$PARTRIDGE_VERSION" >&2
    echo "$VENV/bin/python"
    ;;
  *)
    echo "usage: scripts/gtfs-tools.sh install" >&2
    exit 2
    ;;
esac
