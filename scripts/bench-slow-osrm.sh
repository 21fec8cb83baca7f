#!/usr/bin/env bash
# `make bench-slow-osrm [BEFORE=rev]`: driver-upload and booking latency while every OSRM
# answer takes 2 s (tests/benches/slow_osrm.rs), for this tree and for an earlier commit
# (default: the last commit before live insertion left the region lock), built from the same
# bench source and run one after the other in one run, on a throwaway PostGIS cluster and a
# local osrm-routed on the synthetic Foggia graph of ../shared/osm.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
before=${1:-7daad7e}
pg_port=${PASSAGGIO_BENCH_PG_PORT:-5435}
osrm_port=${PASSAGGIO_BENCH_OSRM_PORT:-5031}
wt="$root/.local/bench-before"

scripts/pg.sh install
scripts/osrm.sh install
scripts/osrm.sh build foggia
scripts/pg.sh start bench "$pg_port" fast
scripts/osrm.sh start foggia "$osrm_port"
cleanup() {
    scripts/osrm.sh stop foggia "$osrm_port" || true
    scripts/pg.sh stop bench || true
    git worktree remove --force "$wt" 2>/dev/null || true
}
trap cleanup EXIT
export DATABASE_URL="$(scripts/pg.sh url bench "$pg_port")"
export BENCH_OSRM_URL="http://127.0.0.1:$osrm_port"
export RUST_LOG=${RUST_LOG:-error}

echo "bench-slow-osrm: building the bench at $before (same bench source) and at this tree" >&2
git worktree remove --force "$wt" 2>/dev/null || true
git worktree add --detach "$wt" "$before" >/dev/null
cp tests/benches/slow_osrm.rs "$wt/tests/benches/slow_osrm.rs"
grep -q 'name = "slow_osrm"' "$wt/tests/Cargo.toml" || printf '\n[[bench]]\nname = "slow_osrm"\nharness = false\n' >> "$wt/tests/Cargo.toml"
# One target directory: the dependencies are built once for both trees. The debug profile is
# enough (and shares the test build): the figures are waits behind a lock and a 2 s OSRM,
# not CPU time. `cargo test --bench` runs a harness-less bench's main once.
(cd "$wt" && CARGO_TARGET_DIR="$root/target" cargo test -p passaggio-tests --bench slow_osrm --no-run)
cargo test -p passaggio-tests --bench slow_osrm --no-run
(cd "$wt" && BENCH_LABEL=before CARGO_TARGET_DIR="$root/target" cargo test -q -p passaggio-tests --bench slow_osrm)
BENCH_LABEL=after cargo test -q -p passaggio-tests --bench slow_osrm
