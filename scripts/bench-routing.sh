#!/usr/bin/env bash
# Runs Passaggio's optimiser and established solvers side by side on one benchmark set, on
# this machine, in one run, and prints one summary table (make bench-routing).
#
#   scripts/bench-routing.sh SET [SECONDS] [BASELINE...]
#   SET       lilim100 | lilim200 | lilim400 | cordeau-darp (a folder of ../shared/bench)
#   SECONDS   time limit per instance (default 10; the issue scales it: 20 for 200, 40 for 400)
#   BASELINE  pyvrp (default), vroom, ortools: run one after the other, beside our solver
#   SEEDS     (environment, e.g. SEEDS=1,2,3) our solver runs each instance once per seed and
#             its row is the median run (single runs of wide-window instances vary by several
#             per cent); the baselines run once
#
# Two processes run at a time (ours and one baseline), each single-threaded, so both see the
# same machine load. Every solution, ours included, goes through ../shared/bench/baselines/
# checker.py. The baselines run in a Python virtual environment under .local/baselines with
# the versions of ../shared/bench/baselines/requirements.txt (installed on first use).
# Output: bench-out/compare/SET-SECONDS/ (CSV per solver, logs, solutions, summary.md).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/../shared/bench"
SET="${1:?usage: scripts/bench-routing.sh SET [SECONDS] [BASELINE...]}"
SECONDS_PER="${2:-10}"
shift $(( $# >= 2 ? 2 : 1 ))
BASELINES=("$@")
[ ${#BASELINES[@]} -gt 0 ] || BASELINES=(pyvrp)
[ -d "$BENCH/$SET" ] || { echo "bench-routing: no benchmark set $BENCH/$SET" >&2; exit 2; }
for b in "${BASELINES[@]}"; do
  case "$b" in pyvrp|vroom|ortools) ;; *) echo "bench-routing: unknown baseline '$b' (pyvrp, vroom, ortools)" >&2; exit 2 ;; esac
done

log() { echo "bench-routing: $*" >&2; }

VENV="$ROOT/.local/baselines"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import pyvrp, vroom, ortools" 2>/dev/null; then
  if ! python3 -m venv --help >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing python3-venv with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip
  fi
  log "creating $VENV with the baseline solvers (one-time)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$BENCH/baselines/requirements.txt"
fi
PY="$VENV/bin/python"

log "building the optimiser (release)"
(cd "$ROOT" && cargo build --release -q -p routing)

OUT="$ROOT/bench-out/compare/$SET-$SECONDS_PER"
rm -rf "$OUT"
mkdir -p "$OUT"
n=$(find "$BENCH/$SET" -maxdepth 1 -name '*.txt' | wc -l)
log "$SET: $n instances, $SECONDS_PER s each; ours beside ${BASELINES[*]}; output in $OUT"

"$ROOT/target/release/routing" bench "$BENCH/$SET" --time-limit "$SECONDS_PER" \
  ${SEEDS:+--seeds "$SEEDS"} --out "$OUT/ours-raw.csv" --solutions "$OUT/sol-ours" >"$OUT/ours.log" 2>&1 &
ours=$!
(
  for b in "${BASELINES[@]}"; do
    "$PY" "$BENCH/baselines/run_bench.py" --set "$BENCH/$SET" --solver "$b" \
      --time-limit "$SECONDS_PER" --out "$OUT/$b.csv" >"$OUT/$b.log" 2>&1
  done
) &
base=$!
trap 'kill $ours $base 2>/dev/null || true' INT TERM
while kill -0 $ours 2>/dev/null || kill -0 $base 2>/dev/null; do
  sleep 30
  done_base=0
  for b in "${BASELINES[@]}"; do
    [ -f "$OUT/$b.csv" ] && done_base=$(( done_base + $(grep -vc '^set,' "$OUT/$b.csv" || true) ))
  done
  log "ours $(grep -c ' vehicles .* feasible .* it$\| median$' "$OUT/ours.log" || true)/$n; baselines $done_base/$(( n * ${#BASELINES[@]} ))"
done
wait $ours || { log "our solver failed, see $OUT/ours.log"; exit 1; }
wait $base || { log "a baseline failed, see $OUT/*.log"; exit 1; }

# Our rows in the baselines' CSV format, each solution re-checked by the independent checker.
"$PY" - "$BENCH/$SET" "$OUT" "$SECONDS_PER" <<'EOF'
import csv, json, os, sys
set_dir, out, secs = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, os.path.join(set_dir, "..", "baselines"))
from checker import check
from instances import read_instance
fields = ["set", "instance", "config", "vehicles", "cost", "bks_vehicles", "bks_cost", "gap_pct", "veh_delta",
          "feasible", "unserved", "wall_s", "cpu_s", "load1", "errors"]
set_name = os.path.basename(os.path.normpath(set_dir))
with open(os.path.join(out, "ours-raw.csv")) as f, open(os.path.join(out, "ours.csv"), "w", newline="") as g:
    w = csv.DictWriter(g, fieldnames=fields)
    w.writeheader()
    for r in csv.DictReader(f):
        inst = read_instance(os.path.join(set_dir, r["instance"] + ".txt"))
        with open(os.path.join(out, "sol-ours", r["instance"] + ".json")) as s:
            routes = json.load(s)["routes"]
        res = check(inst, routes)
        bv, bc = int(r["bks_vehicles"]), float(r["bks_cost"])
        w.writerow({"set": set_name, "instance": r["instance"], "config": f"passaggio-{secs}s",
                    "vehicles": res["vehicles"], "cost": f"{res['cost']:.4f}", "bks_vehicles": bv,
                    "bks_cost": bc, "gap_pct": f"{100.0 * (res['cost'] - bc) / bc:.3f}",
                    "veh_delta": res["vehicles"] - bv, "feasible": int(res["feasible"]),
                    "unserved": res["unserved"], "wall_s": r["seconds"], "cpu_s": "", "load1": "",
                    "errors": " | ".join(res["errors"][:3])})
EOF
csvs=("$OUT/ours.csv")
for b in "${BASELINES[@]}"; do csvs+=("$OUT/$b.csv"); done
"$PY" "$BENCH/baselines/summarize.py" "${csvs[@]}" | tee "$OUT/summary.md"
