# Two commands do all the set-up on a fresh Debian 12 machine (see README.md):
#   make run    install what is missing, start the local database, load the demo, serve
#   make test   the same for a throwaway test cluster, then the whole test suite
.PHONY: run test web tiles bench-driver-app bench-logins bench-dispatch bench-slow-osrm bench-routing fmt lint db-stop osrm osrm-stop

run:
	@scripts/run.sh

test:
	@scripts/test.sh

# The web front-ends into web/dist (served by the service under /driver/ ...).
web:
	@scripts/web.sh install && scripts/web.sh build

# Base-map tiles for the driver app from the OSM extracts of ../shared/osm (tilemaker), into
# web/dist/tiles (served under /tiles/); for a real region: scripts/tiles.sh region.osm.pbf
tiles:
	@scripts/tiles.sh

# The driver app's figures: compressed JS+CSS of a first visit, time to show the cached run
# after an offline reload (prints its figures; needs a test cluster, see scripts/bench-driver-app.sh).
bench-driver-app:
	@scripts/bench-driver-app.sh

# Peak memory of the service under rounds of 100 concurrent failed logins (prints its figures).
bench-logins:
	@scripts/bench-logins.sh

# Bookings per second and live-insertion latency with 150 vehicles (prints its figures).
bench-dispatch:
	@scripts/bench-dispatch.sh

# Driver-upload and booking latency while OSRM answers in 2 s: this tree beside an earlier
# commit (BEFORE=rev, default the last one before live insertion left the region lock).
BEFORE ?= 7daad7e
bench-slow-osrm:
	@scripts/bench-slow-osrm.sh $(BEFORE)

# The optimiser beside established solvers on one benchmark set, same machine, same run,
# every solution checked independently: make bench-routing SET=lilim200 SECONDS=20
SET ?= lilim100
SECONDS ?= 10
BASELINES ?= pyvrp
SEEDS ?=
bench-routing:
	@SEEDS="$(SEEDS)" scripts/bench-routing.sh $(SET) $(SECONDS) $(BASELINES)

# Stops the local run database (make run stops it on Ctrl-C already).
db-stop:
	@scripts/pg.sh stop run

osrm:
	@scripts/osrm.sh install && scripts/osrm.sh build rural && scripts/osrm.sh start rural 5001

osrm-stop:
	@scripts/osrm.sh stop all

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
