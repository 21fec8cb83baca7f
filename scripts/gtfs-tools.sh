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

. "$ROOT/scripts/venv.sh"

log() { echo "gtfs-tools.sh: $*" >&2; }

case "${1:-install}" in
  install)
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import gtfs_guru, partridge" 2>/dev/null; then
      echo "$VENV/bin/python"
      exit 0
    fi
    log "creating $VENV with gtfs-guru $GTFS_GURU_VERSION and partridge $PARTRIDGE_VERSION (one-time)"
    venv_create "$VENV" "gtfs-guru==$GTFS_GURU_VERSION" "partridge==$PARTRIDGE_VERSION"
    echo "$VENV/bin/python"
    ;;
  *)
    echo "usage: scripts/gtfs-tools.sh install" >&2
    exit 2
    ;;
esac
