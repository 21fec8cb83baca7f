#!/usr/bin/env bash
# `make run`: install what is missing, start the local PostgreSQL/PostGIS cluster (data kept in
# .local/pg/run across runs, PostgreSQL's durability defaults), apply migrations, load the demo
# region into an empty database, and serve. Ctrl-C stops the service and the database.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

port=${PASSAGGIO_PG_PORT:-5433}
listen=${PASSAGGIO_LISTEN:-127.0.0.1:8080}

scripts/pg.sh install
scripts/pg.sh start run "$port"
stop_all() { scripts/pg.sh stop run; }
trap stop_all EXIT

echo "run: building the service (release; the first build takes a few minutes)" >&2
cargo build --release -p dispatch
# The web front-ends (the driver app under /driver/, the console's map under /console/).
scripts/web.sh install
scripts/web.sh build

export DATABASE_URL="$(scripts/pg.sh url run "$port")"
export PASSAGGIO_LISTEN="$listen"
target/release/dispatch seed-demo --if-empty
# Today's runs of the demo's work line, with a demo driver (sign in as driver.amadou at
# /driver/ to follow it). Planning again keeps the promised times.
today=$(TZ=Europe/Rome date +%F)
target/release/dispatch plan --region puglia --date "$today" >/dev/null ||
    echo "run: planning today's demo runs failed; the service starts all the same" >&2
echo
echo "Open http://$listen/health   API under http://$listen/api/  (README.md lists the endpoints)"
echo "Driver app: http://$listen/driver/  (driver.amadou / passaggio-demo has today's work-line run)"
RUST_LOG=warn target/release/dispatch demo-card --base "http://$listen"
echo "Coordinator console: http://$listen/console/  (coord.foggia / passaggio-demo: today's planned runs on the map)"
echo
# Not exec: the EXIT trap must run after the service stops, to stop the database too.
target/release/dispatch serve || true
