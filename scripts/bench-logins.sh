#!/usr/bin/env bash
# `make bench-logins`: memory of the service under floods of failed logins (issue #11, item 3).
# Starts the real `dispatch serve` (debug build, the one the tests use; argon2 is optimised in
# it) against a throwaway cluster, sends rounds of 100 concurrent wrong-password logins, and
# prints the process's resident memory (VmRSS) and peak (VmHWM) from /proc, for three set-ups:
#   default       the service as configured by default (rate limits + bounded argon2 work)
#   no-limits     rate limits lifted: all 100 attempts reach the password check, which runs at
#                 most PASSAGGIO_LOGIN_CONCURRENCY (= CPUs) at a time
#   unbounded     rate limits lifted and 100 checks at once: how the service behaved before
# Ports: PASSAGGIO_BENCH_PG_PORT (default 5436), PASSAGGIO_BENCH_HTTP_PORT (default 8091).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
pg_port=${PASSAGGIO_BENCH_PG_PORT:-5436}
http_port=${PASSAGGIO_BENCH_HTTP_PORT:-8091}
rounds=${ROUNDS:-3}
scripts/pg.sh install
scripts/pg.sh start bench-logins "$pg_port" fast
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    scripts/pg.sh stop bench-logins
}
trap cleanup EXIT
export DATABASE_URL="$(scripts/pg.sh url bench-logins "$pg_port")"
export RUST_LOG=${RUST_LOG:-warn}
cargo build -q -p dispatch
bin=target/debug/dispatch
"$bin" seed-demo --if-empty >/dev/null

kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

run() {
    local name=$1; shift
    env "$@" PASSAGGIO_LISTEN="127.0.0.1:$http_port" "$bin" serve >/dev/null 2>&1 &
    server_pid=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$http_port/health" >/dev/null && break; sleep 0.1; done
    local idle; idle=$(kb "$server_pid" VmRSS)
    local codes; codes=$(mktemp)
    local start; start=$(date +%s.%N)
    for _ in $(seq 1 "$rounds"); do
        for i in $(seq 1 100); do
            curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$http_port/api/auth/login" \
                -H 'content-type: application/json' \
                -d "{\"username\":\"coord.foggia\",\"password\":\"wrong-$i\"}" >>"$codes" &
        done
        wait $(jobs -p | grep -v "^$server_pid$") 2>/dev/null || true
    done
    local secs; secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
    local peak; peak=$(kb "$server_pid" VmHWM)
    local after; after=$(kb "$server_pid" VmRSS)
    printf '%-10s  idle %5d MB  peak %5d MB  after %5d MB  %5.1f s  answers: %s\n' "$name" \
        $((idle / 1024)) $((peak / 1024)) $((after / 1024)) "$secs" \
        "$(sort "$codes" | uniq -c | awk '{printf "%s x %s  ", $1, $2}')"
    rm -f "$codes"
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
}

echo "bench-logins: $rounds rounds of 100 concurrent wrong-password logins, $(nproc) CPUs"
lifted=(PASSAGGIO_LOGIN_ACCOUNT_BURST=100000 PASSAGGIO_LOGIN_CLIENT_BURST=100000
        PASSAGGIO_LOGIN_ACCOUNT_PER_MINUTE=100000 PASSAGGIO_LOGIN_CLIENT_PER_MINUTE=100000
        PASSAGGIO_LOGIN_QUEUE=1000)
run default PASSAGGIO_UNUSED=1
run no-limits "${lifted[@]}"
run unbounded "${lifted[@]}" PASSAGGIO_LOGIN_CONCURRENCY=100
