#!/usr/bin/env bash
# `make tiles`: vector tiles of the base map for the driver app, built with Debian's tilemaker
# (2.2) from OpenStreetMap extracts, into web/dist/tiles/<name>/{z}/{x}/{y}.pbf with an
# index.json of the tile sets and their bounds; the service serves them under /tiles/.
#   scripts/tiles.sh [EXTRACT...]   default: every extract in ../shared/osm
# An operator builds a real region the same way from a Geofabrik extract, e.g.
#   scripts/tiles.sh /data/puglia-latest.osm.pbf
# tilemaker reads .osm.pbf only: other formats are converted with osmium first. The config
# (web/tiles/config.json, process.lua) keeps roads, water and town names, zooms 10 to 14.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! command -v tilemaker >/dev/null || ! command -v osmium >/dev/null; then
    echo "tiles: installing tilemaker and osmium-tool from Debian packages" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq tilemaker osmium-tool >/dev/null
fi

extracts=("$@")
if [ ${#extracts[@]} -eq 0 ]; then
    shopt -s nullglob
    extracts=(../shared/osm/*.osm ../shared/osm/*.osm.pbf ../shared/osm/*.osm.gz)
fi
out=web/dist/tiles
work=.local/tiles
mkdir -p "$out" "$work"
index="["
for src in "${extracts[@]}"; do
    name=$(basename "$src")
    name=${name%%.*}
    pbf="$work/$name.osm.pbf"
    if [[ "$src" == *.osm.pbf ]]; then cp "$src" "$pbf"; else osmium cat --overwrite "$src" -o "$pbf"; fi
    rm -rf "${out:?}/$name"
    tilemaker --input "$pbf" --output "$out/$name/" --config web/tiles/config.json \
        --process web/tiles/process.lua >"$work/$name.log" 2>&1
    bbox=$(osmium fileinfo -e -g data.bbox "$pbf" | tr -d '()')
    [ "$index" = "[" ] || index+=","
    index+="{\"name\":\"$name\",\"bounds\":[$bbox],\"minzoom\":10,\"maxzoom\":14}"
    echo "tiles: $name ($bbox): $(find "$out/$name" -name '*.pbf' | wc -l) tiles" >&2
done
echo "$index]" >"$out/index.json"
