// The coordinator console's map: the day's runs (route lines, numbered stops), the vehicles'
// latest positions, meeting points and service areas, drawn with Leaflet from the console's
// JSON fragment (`data-src`, the same cookie session as the page) and refreshed every 15 s.
// No tile server is needed: where no base map is served the map is a plain background with
// the runs drawn on it. Every drawn element carries a class and data attributes (run id,
// stop number) so that people and tests can tell what is on the map.
import { VectorTile } from "@mapbox/vector-tile";
import L from "leaflet";
import "leaflet/dist/leaflet.css";
import { PbfReader } from "pbf";
import "./console.css";

const COLOURS = ["#1f5fbf", "#b3261e", "#0b7a3e", "#8a4baf", "#b35c00", "#006a80", "#6b4e16", "#c2185b"];
const REFRESH_MS = 15000;
/** "Updated at" in the service's time (Europe/Rome, like every time the console shows), whatever
 * the zone of the coordinator's computer. */
const clock = new Intl.DateTimeFormat("it-IT-u-nu-latn", {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
  timeZone: "Europe/Rome",
});

// ------------------------------------------------------------------ the base map (optional)
// The vector tiles of `make tiles` (served under /tiles/, listed in /tiles/index.json) drawn on
// canvas tiles: water, roads, place names. Where no tile set covers the view (or above and
// below its zooms: finer zooms reuse its finest tiles), the map stays a plain background.
let tileSets;
async function sets() {
  if (tileSets === undefined) tileSets = await fetch("/tiles/index.json").then((r) => (r.ok ? r.json() : []), () => []);
  return tileSets;
}

const MAJOR = ["motorway", "trunk", "primary", "secondary"];

const BaseMap = L.GridLayer.extend({
  createTile(coords, done) {
    const canvas = document.createElement("canvas");
    const size = this.getTileSize();
    canvas.width = size.x;
    canvas.height = size.y;
    this.drawTile(canvas, coords, size).then(
      () => done(null, canvas),
      () => done(null, canvas),
    );
    return canvas;
  },
  async drawTile(canvas, coords, size) {
    const map = this._map;
    const nw = map.unproject([coords.x * size.x, coords.y * size.y], coords.z);
    const se = map.unproject([(coords.x + 1) * size.x, (coords.y + 1) * size.y], coords.z);
    const set = (await sets()).find(
      (s) => s.bounds[0] <= se.lng && s.bounds[2] >= nw.lng && s.bounds[1] <= nw.lat && s.bounds[3] >= se.lat,
    );
    if (!set || coords.z < set.minzoom) return;
    const z = Math.min(coords.z, set.maxzoom);
    const k = 2 ** (coords.z - z);
    const [x, y] = [Math.floor(coords.x / k), Math.floor(coords.y / k)];
    const r = await fetch(`/tiles/${set.name}/${z}/${x}/${y}.pbf`);
    if (!r.ok) return;
    const vt = new VectorTile(new PbfReader(await r.arrayBuffer()));
    const ctx = canvas.getContext("2d");
    const px = ([lon, lat]) => {
      const p = map.project([lat, lon], coords.z);
      return [p.x - coords.x * size.x, p.y - coords.y * size.y];
    };
    for (const name of ["water", "roads", "places"]) {
      const layer = vt.layers[name];
      for (let i = 0; layer && i < layer.length; i++) {
        const f = layer.feature(i).toGeoJSON(x, y, z);
        const g = f.geometry;
        if (name === "places" && g.type === "Point") {
          const [tx, ty] = px(g.coordinates);
          ctx.fillStyle = "#444";
          ctx.font = "11px system-ui, sans-serif";
          ctx.textAlign = "center";
          ctx.fillText(f.properties.name ?? "", tx, ty);
          continue;
        }
        const rings =
          g.type === "LineString" ? [g.coordinates]
          : g.type === "MultiLineString" || g.type === "Polygon" ? g.coordinates
          : g.type === "MultiPolygon" ? g.coordinates.flat()
          : [];
        const major = MAJOR.includes(f.properties.class);
        ctx.strokeStyle = name === "water" ? "#7fb0dc" : major ? "#9a9a9a" : "#c4c4c4";
        ctx.lineWidth = name === "roads" && major ? 2.5 : 1.2;
        ctx.fillStyle = "#a9cbe8";
        for (const c of rings) {
          ctx.beginPath();
          c.forEach((pt, j) => {
            const [a, b] = px(pt);
            if (j) ctx.lineTo(a, b);
            else ctx.moveTo(a, b);
          });
          if (name === "water" && g.type.endsWith("Polygon")) ctx.fill();
          ctx.stroke();
        }
      }
    }
    map.getContainer().dataset.base = set.name;
  },
});

function text(s) {
  const d = document.createElement("span");
  d.textContent = s;
  return d.innerHTML;
}

function draw(map, layers, day, labels) {
  for (const l of Object.values(layers)) l.clearLayers();
  const bounds = [];
  for (const a of day.service_areas) {
    const g = L.geoJSON(a.geometry, {
      style: { color: "#6b6b6b", weight: 1, dashArray: "4 4", fillOpacity: 0.04, className: "svc-area" },
    });
    g.bindTooltip(text(a.name));
    g.addTo(layers.areas);
  }
  for (const m of day.meeting_points) {
    L.circleMarker([m.lat, m.lon], { radius: 4, color: "#444", weight: 1, fillColor: "#fff", fillOpacity: 1, className: "meeting-point" })
      .bindTooltip(text(m.name + (m.landmark ? " — " + m.landmark : "")))
      .addTo(layers.points);
  }
  day.runs.forEach((run, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const path = run.route.length > 1 ? run.route : run.stops.map((s) => [s.lon, s.lat]);
    const line = L.polyline(path.map(([lon, lat]) => [lat, lon]), {
      color: colour,
      weight: 4,
      opacity: 0.85,
      dashArray: run.estimated ? "8 6" : null,
      className: "run-line" + (run.late ? " run-late" : ""),
    });
    const pauses = run.breaks.map((b) => ` · ${labels.break} ${b.from}–${b.to}`).join("");
    line.bindTooltip(text(`${run.label} · ${run.stops.length} ${labels.stops}${pauses}`));
    line.addTo(layers.runs);
    const el = line.getElement();
    if (el) {
      el.setAttribute("data-run-id", run.run_id);
      el.setAttribute("data-stops", String(run.stops.length));
    }
    path.forEach(([lon, lat]) => bounds.push([lat, lon]));
    run.stops.forEach((s, n) => {
      if (s.kind === "start" || s.kind === "end") return;
      const icon = L.divIcon({
        className: "run-stop" + (s.at_risk ? " stop-at-risk" : ""),
        html: `<span style="background:${colour}" data-run-id="${run.run_id}" data-seq="${s.seq}">${n}</span>`,
        iconSize: [22, 22],
      });
      L.marker([s.lat, s.lon], { icon, keyboard: false, title: `${run.label} ${n}: ${s.place_name || ""} ${s.time}` })
        .addTo(layers.runs);
    });
    for (const b of run.breaks) {
      const on = run.on_break_until ? " break-now" : "";
      const icon = L.divIcon({
        className: "run-break" + on,
        html: `<span style="border-color:${colour}" data-run-id="${run.run_id}" data-after-seq="${b.after_seq}">II</span>`,
        iconSize: [22, 22],
        iconAnchor: [-4, 26],
      });
      L.marker([b.lat, b.lon], { icon, keyboard: false, title: `${run.label}: ${labels.break} ${b.from}–${b.to}` }).addTo(layers.runs);
    }
  });
  for (const v of day.vehicles) {
    L.circleMarker([v.lat, v.lon], { radius: 8, color: "#fff", weight: 3, fillColor: "#111", fillOpacity: 1, className: "vehicle-position" })
      .bindTooltip(text(`${v.label} ${v.time}`))
      .addTo(layers.vehicles);
    bounds.push([v.lat, v.lon]);
  }
  if (!bounds.length) for (const m of day.meeting_points) bounds.push([m.lat, m.lon]);
  return bounds;
}

async function start(box) {
  const labels = { stops: box.dataset.labelStops || "stops", break: box.dataset.labelBreak || "break" };
  const map = L.map(box, { zoomSnap: 0.25, attributionControl: true, keyboard: true });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(box.dataset.attribution || "© OpenStreetMap contributors");
  const layers = {
    areas: L.layerGroup().addTo(map),
    points: L.layerGroup().addTo(map),
    runs: L.layerGroup().addTo(map),
    vehicles: L.layerGroup().addTo(map),
  };
  new BaseMap({ maxNativeZoom: 18 }).addTo(map);
  map.setView([41.46, 15.55], 10);
  let fitted = false;
  const status = document.getElementById(box.dataset.status || "");
  async function refresh() {
    try {
      const r = await fetch(box.dataset.src, { credentials: "same-origin", headers: { accept: "application/json" } });
      if (!r.ok) throw new Error(String(r.status));
      const day = await r.json();
      const bounds = draw(map, layers, day, labels);
      if (!fitted && bounds.length) {
        map.fitBounds(bounds, { padding: [24, 24] });
        fitted = true;
      }
      box.dataset.runs = String(day.runs.length);
      box.dataset.loaded = String(Date.now());
      if (status) status.textContent = (box.dataset.labelUpdated || "") + " " + clock.format(new Date());
    } catch (e) {
      if (status) status.textContent = box.dataset.labelFailed || String(e);
    }
  }
  await refresh();
  setInterval(refresh, Number(box.dataset.refreshMs || REFRESH_MS));
}

for (const box of document.querySelectorAll("[data-console-map]")) start(box);

// The planning page: while a job runs, the page asks for its progress and reloads when done.
const job = document.querySelector("[data-plan-progress]");
if (job) {
  const tick = async () => {
    const r = await fetch(job.dataset.planProgress, { credentials: "same-origin" });
    if (r.ok) {
      const p = await r.json();
      job.textContent = p.progress;
      if (p.status !== "queued" && p.status !== "running") {
        location.reload();
        return;
      }
    }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
}

// Copy the promised times of a booking to the clipboard.
for (const b of document.querySelectorAll("[data-copy]")) {
  b.addEventListener("click", async () => {
    const src = document.getElementById(b.dataset.copy);
    try {
      await navigator.clipboard.writeText(src.innerText);
      b.dataset.copied = "1";
    } catch {
      /* no clipboard: the text is on the page to select */
    }
  });
}
