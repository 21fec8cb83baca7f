// The run drawn on a plain background (SVG): the route between the stops in order, numbered
// stops, the phone's position, OpenStreetMap attribution. No tile server is needed: the
// navigation itself is handed to the phone's navigation app. The line is the run's route from
// the manifest: roads where the service has OSRM, a straight-line sketch otherwise.
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
