#!/usr/bin/env bash
# `make bench-dispatch`: the dispatch load benchmark (bookings per second, booking and live
# insertion latency with 150 vehicles running) against a throwaway PostGIS cluster.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
port=${PASSAGGIO_BENCH_PG_PORT:-5435}
scripts/pg.sh install
scripts/pg.sh start bench "$port" fast
trap 'scripts/pg.sh stop bench' EXIT
export DATABASE_URL="$(scripts/pg.sh url bench "$port")"
export RUST_LOG=${RUST_LOG:-warn}
cargo bench -p passaggio-tests --bench dispatch_load
