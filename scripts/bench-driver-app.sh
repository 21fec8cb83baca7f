#!/usr/bin/env bash
# `make bench-driver-app`: the driver app's figures (first-visit bytes, offline reload time),
# printed. Uses a throwaway PostgreSQL cluster of its own (port PASSAGGIO_BENCH_PG_PORT, 5445
# by default), the debug service binary and the built app.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
port=${PASSAGGIO_BENCH_PG_PORT:-5445}
scripts/pg.sh install
scripts/web.sh install
scripts/web.sh build
cargo build -p dispatch
scripts/pg.sh stop bench || true
rm -rf .local/pg/bench
scripts/pg.sh start bench "$port" fast
trap 'scripts/pg.sh stop bench || true' EXIT
DATABASE_URL="$(scripts/pg.sh url bench "$port")" scripts/web.sh bench
