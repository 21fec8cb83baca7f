#!/usr/bin/env bash
# `make test`: a throwaway PostgreSQL/PostGIS cluster (fsync off) and local OSRM servers
# (the rural OSM extract and a synthetic graph with unreachable pairs), then
# `cargo test --workspace` (one build), then the browser tests of the web front-ends
# (Debian's chromium driven by playwright-core against the real service, scripts/web.sh),
# then stop what was started, by PID. CI runs this through .ci/run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

pg_port=${PASSAGGIO_TEST_PG_PORT:-5434}
osrm_rural_port=${PASSAGGIO_TEST_OSRM_PORT:-5011}
osrm_islands_port=${PASSAGGIO_TEST_OSRM_ISLANDS_PORT:-5012}
# The outage test (tests/reliability.rs) stops and starts a cluster of its own on this port.
outage_port=${PASSAGGIO_TEST_PG_OUTAGE_PORT:-$((pg_port + 100))}
export PASSAGGIO_TEST_PG_OUTAGE_PORT=$outage_port

cleanup() {
    scripts/osrm.sh stop rural "$osrm_rural_port" || true
    scripts/osrm.sh stop islands "$osrm_islands_port" || true
    scripts/pg.sh stop test || true
    scripts/pg.sh stop "outage-$outage_port" || true
}
trap cleanup EXIT

scripts/pg.sh install
scripts/pg.sh stop test
rm -rf .local/pg/test
scripts/pg.sh start test "$pg_port" fast

scripts/osrm.sh install
scripts/osrm.sh build rural
scripts/osrm.sh build islands
scripts/osrm.sh start rural "$osrm_rural_port"
scripts/osrm.sh start islands "$osrm_islands_port"

# The web front-ends: chromium, Node.js and the pinned npm packages; the built assets.
scripts/web.sh install
scripts/web.sh build
# The driver app's base-map tiles of the OSM extracts in ../shared/osm (tilemaker).
scripts/tiles.sh

# The offline GTFS validator and reader the report tests run beside their own checks.
gtfs_python="$(scripts/gtfs-tools.sh install)"
export PASSAGGIO_GTFS_PYTHON="$gtfs_python"
export PASSAGGIO_REQUIRE_GTFS_TOOLS=1

# The API fuzzer the OpenAPI test runs (schemathesis, from PyPI).
export PASSAGGIO_FUZZ_ST="$(scripts/fuzz-tools.sh install)"
export PASSAGGIO_REQUIRE_FUZZ=1

export DATABASE_URL="$(scripts/pg.sh url test "$pg_port")"
export PASSAGGIO_TEST_OSRM_URL="http://127.0.0.1:$osrm_rural_port"
export PASSAGGIO_TEST_OSRM_ISLANDS_URL="http://127.0.0.1:$osrm_islands_port"
export PASSAGGIO_REQUIRE_OSRM=1
echo "test: database $DATABASE_URL, OSRM $PASSAGGIO_TEST_OSRM_URL and $PASSAGGIO_TEST_OSRM_ISLANDS_URL" >&2
cargo test --workspace

# The browser tests run the service's binary against databases of their own in this cluster.
cargo build -p dispatch
scripts/web.sh test
