#!/usr/bin/env bash
# Private PostgreSQL + PostGIS clusters for development and tests, from Debian's packages.
#
#   scripts/pg.sh install                 install postgresql-15 + postgis 3 if missing (apt, guarded)
#   scripts/pg.sh start NAME PORT [fast]  create (first time) and start cluster NAME on 127.0.0.1:PORT;
#                                         'fast' turns fsync off (throwaway test clusters only)
#   scripts/pg.sh stop NAME               stop cluster NAME by the PID it recorded
#   scripts/pg.sh url NAME PORT           print the DATABASE_URL of cluster NAME
#
# Data lives under .local/pg/NAME in the repository (ignored by git). Clusters listen on
# 127.0.0.1 only; the unix socket stays inside the data directory.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pgbin=/usr/lib/postgresql/15/bin
export PGOPTIONS="-c client_min_messages=warning"
say() { echo "pg: $*" >&2; }

# PostgreSQL refuses to run as root: run its tools as the 'postgres' user then.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install() {
    if [ -x "$pgbin/postgres" ] && [ -f /usr/share/postgresql/15/extension/postgis.control ]; then
        return 0
    fi
    say "installing PostgreSQL 15 and PostGIS 3 from Debian packages (first run only)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql-15 postgresql-15-postgis-3 >/dev/null
}

start() {
    local name=$1 port=$2 mode=${3:-durable}
    local dir="$root/.local/pg/$name"
    local data="$dir/data"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$dir"
        # postgres must be able to reach the data directory through every parent.
        local p="$dir"
        while [ "$p" != / ]; do p=$(dirname "$p"); chmod o+x "$p" 2>/dev/null || true; done
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        say "creating cluster '$name' in $data"
        as_owner "$pgbin/initdb" -D "$data" -U passaggio --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
        {
            echo "listen_addresses = '127.0.0.1'"
            echo "port = $port"
            echo "unix_socket_directories = '$data'"
            echo "max_connections = 200"
            echo "shared_buffers = 256MB"
            if [ "$mode" = fast ]; then
                # Throwaway test cluster: durability does not matter, speed does.
                echo "fsync = off"; echo "synchronous_commit = off"; echo "full_page_writes = off"
            fi
        } | as_owner tee -a "$data/postgresql.conf" >/dev/null
    fi
    if as_owner "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        say "cluster '$name' already running"
    else
        as_owner "$pgbin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null \
            || { tail -20 "$dir/server.log" >&2; exit 1; }
        say "cluster '$name' started on 127.0.0.1:$port (log: $dir/server.log)"
    fi
    # template1 gets PostGIS so every database created from it (per-test ones included) has it.
    as_owner "$pgbin/psql" -qAt -h 127.0.0.1 -p "$port" -U passaggio -d template1 \
        -c "create extension if not exists postgis" >/dev/null
    as_owner "$pgbin/psql" -qAt -h 127.0.0.1 -p "$port" -U passaggio -d template1 \
        -c "select 1 from pg_database where datname = 'passaggio'" | grep -q 1 \
        || as_owner "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U passaggio passaggio
}

stop() {
    local name=$1
    local data="$root/.local/pg/$name/data"
    if [ -f "$data/postmaster.pid" ]; then
        local pid; pid=$(head -1 "$data/postmaster.pid")
        kill -INT "$pid" 2>/dev/null || true   # SIGINT = fast shutdown
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        say "cluster '$name' stopped (pid $pid)"
    fi
}

url() { echo "postgres://passaggio@127.0.0.1:$2/passaggio"; }

cmd=${1:-}; shift || true
case "$cmd" in
    install) install ;;
    start) start "$@" ;;
    stop) stop "$@" ;;
    url) url "$@" ;;
    *) echo "usage: $0 install | start NAME PORT [fast] | stop NAME | url NAME PORT" >&2; exit 2 ;;
esac
