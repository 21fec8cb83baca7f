#!/usr/bin/env bash
# Local OSRM for Passaggio: install the executables from the PyPI wheel, build graphs from the
# OSM extracts in ../shared/osm, start and stop osrm-routed on loopback.
#
#   scripts/osrm.sh install
#   scripts/osrm.sh build rural|monaco|foggia|islands
#   scripts/osrm.sh start rural|monaco|foggia|islands PORT
#   scripts/osrm.sh stop  rural|monaco|foggia|islands [PORT] | all
#   scripts/osrm.sh url   rural|monaco|foggia|islands PORT
#
# Everything lives under .local/osrm/ in the repository (git-ignored). Every subcommand is
# idempotent. Progress goes to stderr; `start` prints the server URL on stdout.
#
# Environment (all optional):
#   OSRM_ALGORITHM   CH (default) or MLD: which graph osrm-routed serves. Both are built.
#   OSRM_THREADS     osrm-routed worker threads (default: number of CPUs, at least 2).
#   OSRM_MAX_TABLE   --max-table-size (default 1000, what OsrmConfig::new assumes).
#   PASSAGGIO_OSM_DIR  where the extracts are (default: ../shared/osm next to the repository).
set -euo pipefail

OSRM_VERSION="26.10.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOME_DIR="$ROOT/.local/osrm"
WHEEL_DIR="$HOME_DIR/wheel"
BIN="$HOME_DIR/osrm/bin"
PROFILES="$HOME_DIR/osrm/share/profiles"
DATA="$HOME_DIR/data"
OSM_DIR="${PASSAGGIO_OSM_DIR:-$ROOT/../shared/osm}"
ALGORITHM="${OSRM_ALGORITHM:-CH}"
MAX_TABLE="${OSRM_MAX_TABLE:-1000}"

log() { echo "osrm.sh: $*" >&2; }
die() { echo "osrm.sh: error: $*" >&2; exit 1; }

cpus() { local n; n="$(nproc 2>/dev/null || echo 2)"; if [ "$n" -lt 2 ]; then n=2; fi; echo "$n"; }

# The extract behind each graph name.
source_of() {
  case "$1" in
    rural) echo "$OSM_DIR/north-bayreuth.osm.gz" ;;
    monaco) echo "$OSM_DIR/monaco.osm.pbf" ;;
    foggia) echo "$OSM_DIR/foggia-synthetic.osm" ;;
    # Synthetic, for tests: two roads that do not meet (pairs with no route).
    islands) echo "$ROOT/routing/tests/data/islands.osm" ;;
    *) die "unknown graph '$1' (expected rural, monaco, foggia or islands)" ;;
  esac
}

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing $* with apt-get"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
  fi
}

find_python() {
  if ! command -v python3 >/dev/null 2>&1; then apt_install python3 python3-pip; fi
  command -v python3 >/dev/null 2>&1 \
    || die "python3 is needed to download the OSRM wheel (apt-get install python3 python3-pip)"
  echo python3
}

# A pip that can download: `python3 -m pip`, installing Debian's python3-pip when it is missing.
ensure_pip() {
  local py; py="$(find_python)"
  if "$py" -m pip --version >/dev/null 2>&1; then return; fi
  apt_install python3-pip
  "$py" -m pip --version >/dev/null 2>&1 || die "no pip: install python3-pip"
}

# The executables need only libstdc++ and libgcc_s besides glibc; install them if ldd says
# something is missing (a minimal Debian 12 image may lack libstdc++6).
ensure_libs() {
  command -v ldd >/dev/null 2>&1 || return 0
  local missing
  missing="$(ldd "$BIN/osrm-routed" "$BIN/osrm-extract" 2>/dev/null | grep 'not found' || true)"
  [ -z "$missing" ] && return 0
  log "missing shared libraries: $missing"
  apt_install libstdc++6 libgcc-s1
  missing="$(ldd "$BIN/osrm-routed" "$BIN/osrm-extract" 2>/dev/null | grep 'not found' || true)"
  [ -z "$missing" ] || die "OSRM executables still miss libraries: $missing"
}

cmd_install() {
  if [ -x "$BIN/osrm-routed" ] && [ -f "$HOME_DIR/osrm/.version-$OSRM_VERSION" ]; then
    ensure_libs
    log "OSRM $OSRM_VERSION already installed in $HOME_DIR"
    return
  fi
  ensure_pip
  local py; py="$(find_python)"
  mkdir -p "$WHEEL_DIR"
  log "downloading osrm-bindings==$OSRM_VERSION (wheel with the OSRM executables)"
  "$py" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.12 --platform manylinux_2_28_x86_64 \
    -d "$WHEEL_DIR" "osrm-bindings==$OSRM_VERSION" >&2
  local wheel
  wheel="$(ls "$WHEEL_DIR"/osrm_bindings-"$OSRM_VERSION"-*.whl | head -n 1)"
  [ -f "$wheel" ] || die "wheel not found in $WHEEL_DIR"
  log "unpacking $(basename "$wheel")"
  rm -rf "$HOME_DIR/osrm"
  # A wheel is a zip; python's zipfile avoids needing `unzip` on a fresh machine.
  "$py" - "$wheel" "$HOME_DIR" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in z.namelist():
        if name.startswith("osrm/bin/") or name.startswith("osrm/share/"):
            z.extract(name, sys.argv[2])
PY
  chmod +x "$BIN"/*
  ensure_libs
  "$BIN/osrm-routed" --version >/dev/null || die "osrm-routed does not run on this machine"
  touch "$HOME_DIR/osrm/.version-$OSRM_VERSION"
  log "installed OSRM $("$BIN/osrm-routed" --version 2>/dev/null | tail -n 1) in $HOME_DIR/osrm"
}

need_install() {
  [ -x "$BIN/osrm-routed" ] || die "OSRM is not installed: run scripts/osrm.sh install"
}

cmd_build() {
  local name="${1:-}"; [ -n "$name" ] || die "usage: osrm.sh build rural|monaco|foggia|islands"
  need_install
  local src; src="$(source_of "$name")"
  [ -f "$src" ] || die "extract not found: $src"
  local dir="$DATA/$name" base="$DATA/$name/$name"
  local stamp="$dir/.built"
  # Up to date when the stamp names the same extract, profile and OSRM version.
  local want; want="$(cksum < "$src" | cut -d' ' -f1) car.lua $OSRM_VERSION mld+ch"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    log "graph '$name' is up to date ($dir)"
    return
  fi
  rm -rf "$dir"; mkdir -p "$dir"
  local input
  case "$src" in
    *.gz)
      # osrm-extract picks the reader from the file extension: give it plain .osm.
      input="$dir/$name.osm"
      log "gunzip $(basename "$src")"
      gzip -dc "$src" > "$input.tmp" && mv "$input.tmp" "$input" ;;
    *.pbf) input="$dir/$name.osm.pbf"; cp "$src" "$input" ;;
    *) input="$dir/$name.osm"; cp "$src" "$input" ;;
  esac
  local t; t="$(cpus)"
  log "osrm-extract $name (car profile)"
  "$BIN/osrm-extract" -t "$t" -p "$PROFILES/car.lua" -o "$base.osrm" "$input" > "$dir/build.log" 2>&1 \
    || { tail -n 20 "$dir/build.log" >&2; die "osrm-extract failed (log: $dir/build.log)"; }
  # Both MLD (partition + customize) and CH (osrm-contract) data sit side by side; osrm-routed
  # chooses with --algorithm. The order matters: osrm-partition renumbers the graph and drops
  # an existing .hsgr, so contract last.
  log "osrm-partition + osrm-customize $name (MLD)"
  "$BIN/osrm-partition" -t "$t" "$base.osrm" >> "$dir/build.log" 2>&1 \
    && "$BIN/osrm-customize" -t "$t" "$base.osrm" >> "$dir/build.log" 2>&1 \
    || { tail -n 20 "$dir/build.log" >&2; die "MLD build failed (log: $dir/build.log)"; }
  log "osrm-contract $name (CH)"
  "$BIN/osrm-contract" -t "$t" "$base.osrm" >> "$dir/build.log" 2>&1 \
    || { tail -n 20 "$dir/build.log" >&2; die "osrm-contract failed (log: $dir/build.log)"; }
  rm -f "$input"
  echo "$want" > "$stamp"
  log "graph '$name' built in $dir"
}

pidfile_of() { echo "$HOME_DIR/run/$1-$2.pid"; }

# Answers when /nearest works on the server's own data (any coordinate snaps somewhere).
answers() {
  "$(find_python)" - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/nearest/v1/driving/0,0", timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
}

running() { local pid; pid="$(cat "$1" 2>/dev/null || true)"; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

cmd_start() {
  local name="${1:-}" port="${2:-}"
  [ -n "$name" ] && [ -n "$port" ] || die "usage: osrm.sh start rural|monaco|foggia|islands PORT"
  source_of "$name" > /dev/null
  need_install
  local base="$DATA/$name/$name.osrm"
  [ -f "$DATA/$name/.built" ] || die "graph '$name' is not built: run scripts/osrm.sh build $name"
  local url="http://127.0.0.1:$port" pidfile; pidfile="$(pidfile_of "$name" "$port")"
  mkdir -p "$HOME_DIR/run"
  if running "$pidfile" && answers "$url"; then
    log "osrm-routed '$name' already running on $url (pid $(cat "$pidfile"))"
    echo "$url"; return
  fi
  local threads="${OSRM_THREADS:-$(cpus)}"
  local logf="$HOME_DIR/run/$name-$port.log"
  log "starting osrm-routed '$name' ($ALGORITHM, $threads threads, max table $MAX_TABLE) on $url"
  # Loopback only: osrm-routed would listen on every interface by default.
  nohup "$BIN/osrm-routed" -i 127.0.0.1 -p "$port" -a "$ALGORITHM" -t "$threads" \
    --max-table-size "$MAX_TABLE" --max-viaroute-size 500 "$base" > "$logf" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  local i
  for i in $(seq 1 100); do
    if answers "$url"; then log "osrm-routed '$name' ready on $url"; echo "$url"; return; fi
    if ! running "$pidfile"; then tail -n 20 "$logf" >&2; rm -f "$pidfile"; die "osrm-routed exited (log: $logf)"; fi
    sleep 0.2
  done
  tail -n 20 "$logf" >&2
  die "osrm-routed did not answer on $url within 20 s (log: $logf)"
}

stop_pidfile() {
  local pidfile="$1" pid
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "stopping osrm-routed $(basename "$pidfile" .pid) (pid $pid)"
    kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

cmd_stop() {
  local name="${1:-}" port="${2:-}"
  [ -n "$name" ] || die "usage: osrm.sh stop rural|monaco|foggia|islands [PORT] | all"
  local pattern
  if [ "$name" = all ]; then pattern="*-*.pid"
  elif [ -n "$port" ]; then pattern="$name-$port.pid"
  else pattern="$name-*.pid"; fi
  local f found=0
  for f in "$HOME_DIR/run"/$pattern; do
    [ -e "$f" ] || continue
    found=1; stop_pidfile "$f"
  done
  [ "$found" = 1 ] || log "no osrm-routed to stop for '$name${port:+ $port}'"
}

case "${1:-}" in
  install) cmd_install ;;
  build) shift; cmd_build "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  url) echo "http://127.0.0.1:${3:?usage: osrm.sh url NAME PORT}" ;;
  *) die "usage: osrm.sh install | build NAME | start NAME PORT | stop NAME [PORT]|all  (NAME: rural, monaco, foggia, islands)" ;;
esac
