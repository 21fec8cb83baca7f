#!/usr/bin/env bash
# `make test`: a throwaway PostgreSQL/PostGIS cluster (fsync off), then `cargo test --workspace`
# (one build), then stop what was started, by PID. Used by CI through .ci/run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

pg_port=${PASSAGGIO_TEST_PG_PORT:-5434}

scripts/pg.sh install
scripts/pg.sh stop test
rm -rf .local/pg/test
scripts/pg.sh start test "$pg_port" fast
cleanup() {
    scripts/pg.sh stop test
}
trap cleanup EXIT

export DATABASE_URL="$(scripts/pg.sh url test "$pg_port")"
echo "test: database $DATABASE_URL" >&2
cargo test --workspace
