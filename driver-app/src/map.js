// The run drawn on a plain background (SVG): the route between the stops in order, numbered
// stops, the phone's position, OpenStreetMap attribution. No tile server is needed: the
// navigation itself is handed to the phone's navigation app. The line is the run's route from
// the manifest: roads where the service has OSRM, a straight-line sketch otherwise.
import { VectorTile } from "@mapbox/vector-tile";
import { PbfReader } from "pbf";

const NS = "http://www.w3.org/2000/svg";

function el(name, attrs, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * An SVG of `stops` (with `lon`, `lat`, `status`), the `route` ({ coordinates: [[lon, lat]] },
 * or the stops in order when absent) and `position` ({lon, lat} or null).
 */
export function drawRun(stops, route, position, nextKey, labels) {
  const path = route?.coordinates?.length > 1 ? route.coordinates : stops.map((s) => [s.lon, s.lat]);
  const W = 340;
  const H = 220;
  const pad = 18;
  const pts = stops.map((s) => [s.lon, s.lat]).concat(path);
  if (position) pts.push([position.lon, position.lat]);
  const lat0 = pts.reduce((a, p) => a + p[1], 0) / pts.length;
  const k = Math.cos((lat0 * Math.PI) / 180);
  const xs = pts.map((p) => p[0] * k);
  const ys = pts.map((p) => p[1]);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const scale = Math.min((W - 2 * pad) / (maxX - minX || 1e-3), (H - 2 * pad) / (maxY - minY || 1e-3));
  const px = (lon, lat) => [
    pad + (lon * k - minX) * scale + (W - 2 * pad - (maxX - minX) * scale) / 2,
    H - pad - (lat - minY) * scale - (H - 2 * pad - (maxY - minY) * scale) / 2,
  ];
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": labels.title, class: "map" });
  svg.append(el("rect", { width: W, height: H, fill: "#eef2ea" }));
  // Where a base map has been built, it is drawn here, under the run (see drawBase).
  const base = el("g", { class: "base" });
  svg.append(base);
  const lon = (x) => ((x - pad - (W - 2 * pad - (maxX - minX) * scale) / 2) / scale + minX) / k;
  const lat = (y) => (H - pad - (H - 2 * pad - (maxY - minY) * scale) / 2 - y) / scale + minY;
  svg.frame = { base, px, bbox: [lon(0), lat(H), lon(W), lat(0)] };
  const line = path.map(([lon, lat]) => px(lon, lat).map((v) => v.toFixed(1)).join(",")).join(" ");
  const sketch = !route || route.estimated;
  svg.append(el("polyline", { points: line, fill: "none", stroke: "#1f5fbf", "stroke-width": 3, "stroke-dasharray": sketch ? "6 4" : "none" }));
  // Stops at the same place are drawn once, with the first number.
  const seen = new Set();
  stops.forEach((s, i) => {
    const [x, y] = px(s.lon, s.lat);
    const key = `${x.toFixed(0)},${y.toFixed(0)}`;
    if (seen.has(key)) return;
    seen.add(key);
    const done = s.status === "done" || s.status === "skipped";
    const next = s.stop_key === nextKey;
    svg.append(el("circle", { cx: x, cy: y, r: next ? 12 : 10, fill: done ? "#777" : next ? "#b00020" : "#0b3d2e", stroke: "#fff", "stroke-width": 2 }));
    svg.append(el("text", { x, y: y + 4, "text-anchor": "middle", "font-size": 11, "font-weight": 700, fill: "#fff" }, String(i + 1)));
  });
  if (position) {
    const [x, y] = px(position.lon, position.lat);
    const g = el("g", {});
    g.append(el("title", {}, labels.here));
    g.append(el("circle", { cx: x, cy: y, r: 8, fill: "#1f5fbf", stroke: "#fff", "stroke-width": 3 }));
    svg.append(g);
  }
  svg.append(el("text", { x: W - 4, y: H - 4, "text-anchor": "end", "font-size": 10, fill: "#222" }, labels.attribution));
  return svg;
}

// ---------------------------------------------------------------- the base map (optional)
// Vector tiles built by `make tiles` (tilemaker) and served under /tiles/: roads, water and
// town names drawn under the run. The service worker keeps the tiles it fetched, so the base
// map stays with no network. Without tiles for the area, the run is drawn on plain ground.
let index = null;
const tiles = new Map();

const tileX = (lon, z) => Math.floor(((lon + 180) / 360) * 2 ** z);
const tileY = (lat, z) => {
  const r = (lat * Math.PI) / 180;
  return Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * 2 ** z);
};

/** The features of one tile as GeoJSON (cached in memory; null when there is none). */
async function tile(set, z, x, y) {
  const key = `${set}/${z}/${x}/${y}`;
  if (!tiles.has(key)) {
    tiles.set(
      key,
      fetch(`/tiles/${key}.pbf`)
        .then(async (r) => {
          if (!r.ok) return [];
          const vt = new VectorTile(new PbfReader(await r.arrayBuffer()));
          const out = [];
          for (const name of ["water", "roads", "places"]) {
            const layer = vt.layers[name];
            for (let i = 0; layer && i < layer.length; i++) out.push({ layer: name, f: layer.feature(i).toGeoJSON(x, y, z) });
          }
          return out;
        })
        .catch(() => (tiles.delete(key), [])),
    );
  }
  return tiles.get(key);
}

/** Draws the base map into an SVG made by drawRun, where a tile set covers the run. */
export async function drawBase(svg) {
  const { base, px, bbox } = svg.frame;
  if (!index) index = await fetch("/tiles/index.json").then((r) => (r.ok ? r.json() : []), () => null);
  const set = index?.find((s) => s.bounds[0] <= bbox[2] && s.bounds[2] >= bbox[0] && s.bounds[1] <= bbox[3] && s.bounds[3] >= bbox[1]);
  if (!set) return;
  // The finest zoom at which the view needs at most 3 x 3 tiles.
  let z = set.maxzoom;
  while (z > set.minzoom && (tileX(bbox[2], z) - tileX(bbox[0], z) + 1) * (tileY(bbox[1], z) - tileY(bbox[3], z) + 1) > 9) z--;
  const jobs = [];
  for (let x = tileX(bbox[0], z); x <= tileX(bbox[2], z); x++)
    for (let y = tileY(bbox[3], z); y <= tileY(bbox[1], z); y++) jobs.push(tile(set.name, z, x, y));
  const features = (await Promise.all(jobs)).flat();
  const line = (coords) => coords.map(([lo, la]) => px(lo, la).map((v) => v.toFixed(1)).join(",")).join(" ");
  const g = el("g", { "aria-hidden": "true" });
  for (const { layer, f } of features) {
    const geom = f.geometry;
    const lines =
      geom.type === "LineString" ? [geom.coordinates] : geom.type === "MultiLineString" || geom.type === "Polygon" ? geom.coordinates : geom.type === "MultiPolygon" ? geom.coordinates.flat() : [];
    if (layer === "places" && geom.type === "Point") {
      const [x, y] = px(...geom.coordinates);
      g.append(el("text", { x, y, "font-size": 10, fill: "#555", "text-anchor": "middle" }, f.properties.name ?? ""));
      continue;
    }
    const major = ["motorway", "trunk", "primary", "secondary"].includes(f.properties.class);
    for (const c of lines) {
      g.append(
        el("polyline", {
          points: line(c),
          fill: layer === "water" && geom.type.endsWith("Polygon") ? "#a9cbe8" : "none",
          stroke: layer === "water" ? "#7fb0dc" : major ? "#9a9a9a" : "#c4c4c4",
          "stroke-width": layer === "roads" && major ? 2.5 : 1.2,
        }),
      );
    }
  }
  base.replaceChildren(g);
  svg.dataset.base = set.name;
}
