// The driver app: sign-in, the day's runs, the current run with the next stop first, stop
// actions written to the outbox before anything else, the map, the sync mark. Plain DOM: the
// screens are small and re-drawn from IndexedDB after every change.
import * as api from "./api.js";
import * as db from "./db.js";
import { has, languages, load, names, t, time } from "./i18n.js";
import { drawBase, drawRun } from "./map.js";
import * as S from "./state.js";
import * as sync from "./sync.js";
import { h, present } from "./dom.js";
import { refusedList, stopCard, stopName, timerText } from "./stop.js";

const app = document.getElementById("app");
const bar = document.getElementById("bar");
/** The screen's state that is not worth keeping across a reload. */
const ui = { selected: null, toast: null, notesOpen: false, updateReady: false, langNames: {} };
let position = null;
let lastPositionSent = 0;
const POSITION_EVERY_MS = 30000;
const UNDO_SHOWN_MS = 120000;

/** Replaces the screen's content. */
const show = (...nodes) => app.replaceChildren(...present(nodes));

const route = () => {
  const m = /^#\/run\/([0-9a-f-]{36})/.exec(location.hash);
  return m ? { runId: m[1] } : {};
};

// ---------------------------------------------------------------- the bar: sync and language
async function renderBar() {
  const session = await db.get("session");
  const waiting = (await db.outbox()).filter((i) => i.type === "event").length;
  const online = sync.status.online;
  bar.replaceChildren(...present(
    h("span", { class: "brand" }, t("common-app-name")),
    h(
      "span",
      { id: "sync", class: waiting ? "sync waiting" : "sync sent", "data-waiting": String(waiting), role: "status" },
      waiting ? t("driver-outbox-waiting", { count: waiting }) : t("driver-outbox-all-sent"),
    ),
    h("span", { id: "net", class: online ? "net on" : "net off" }, online ? t("driver-online") : t("driver-offline")),
    h(
      "label",
      { class: "lang" },
      h("span", { class: "sr" }, t("common-language")),
      h(
        "select",
        { id: "lang", onchange: async (e) => { await db.set("lang", e.target.value); await load(e.target.value); render(); } },
        languages.map((l) => h("option", { value: l, selected: l === document.documentElement.lang }, ui.langNames[l] ?? l)),
      ),
    ),
    session && !session.expired ? h("button", { id: "logout", class: "small", onclick: logout }, t("driver-sign-out")) : null,
  ));
}

// ---------------------------------------------------------------- sign-in
function renderLogin(session, message) {
  const form = h(
    "form",
    { id: "login", class: "card", onsubmit: signIn },
    h("h1", {}, t("driver-sign-in-title")),
    session?.expired ? h("p", { class: "warn", role: "alert" }, t("driver-session-expired")) : null,
    message ? h("p", { class: "warn", role: "alert" }, message) : null,
    h("label", { for: "username" }, t("driver-username")),
    h("input", { id: "username", name: "username", autocomplete: "username", required: true, value: session?.username ?? "", autocapitalize: "none" }),
    h("label", { for: "password" }, t("driver-password")),
    h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit", class: "big primary" }, t("driver-sign-in")),
  );
  show(form);
}

async function signIn(e) {
  e.preventDefault();
  const f = new FormData(e.target);
  const username = String(f.get("username")).trim();
  try {
    const r = await api.login(username, String(f.get("password")));
    if (r.staff?.role !== "driver") throw new api.HttpError(403, null);
    await db.set("session", { token: r.token, username, expires_at: r.expires_at });
    sync.status.expired = false;
    sync.status.online = true;
    await refreshRuns();
    sync.flush().then(render);
    render();
  } catch (err) {
    const session = await db.get("session");
    renderLogin(session, err instanceof api.Offline ? t("driver-sign-in-offline") : t("driver-sign-in-failed"));
  }
}

async function logout() {
  const waiting = await db.outboxCount();
  if (waiting > 0) {
    ui.toast = t("driver-sign-out-refused", { count: waiting });
    return render();
  }
  await api.logout().catch(() => {});
  await db.clearAll();
  location.hash = "";
  render();
}

// ---------------------------------------------------------------- data
async function refreshRuns() {
  try {
    const r = await api.runs();
    await db.set("runs", { data: r, fetched_at: new Date().toISOString() });
    sync.status.online = true;
  } catch (e) {
    if (e instanceof api.Offline) sync.status.online = false;
    else if (!(e instanceof api.Expired)) throw e;
  }
}

/** Fetches a run's manifest; notes what dispatch changed since the cached one. */
async function refreshManifest(runId) {
  const cached = await db.get(`manifest:${runId}`);
  try {
    const m = await api.manifest(runId);
    sync.status.online = true;
    if (cached) {
      const c = S.changes(cached.data, m);
      // Re-timing alone (after the driver's own reports) is no news; riders added or taken
      // off the run are.
      if (c.added || c.removed) await db.set(`banner:${runId}`, c);
    }
    await db.set(`manifest:${runId}`, { data: m, fetched_at: new Date().toISOString() });
  } catch (e) {
    if (e instanceof api.Offline) sync.status.online = false;
    else if (e instanceof api.HttpError && e.status === 404) await db.set(`gone:${runId}`, true);
    else if (!(e instanceof api.Expired)) throw e;
  }
}

/** Asks whether the run changed (a cheap fingerprint) and fetches it when it did. */
async function poll() {
  const { runId } = route();
  const session = await db.get("session");
  if (!runId || !session || session.expired || document.hidden) return;
  const cached = await db.get(`manifest:${runId}`);
  try {
    const v = await api.version(runId);
    sync.status.online = true;
    if (!cached || v.version !== cached.data.version) {
      await refreshManifest(runId);
      render();
    }
  } catch (e) {
    if (e instanceof api.Offline) sync.status.online = false;
    else if (e instanceof api.HttpError && e.status === 404) await db.set(`gone:${runId}`, true);
    renderBar();
  }
}

// ---------------------------------------------------------------- actions
async function record(runId, stop, kind, extra = {}) {
  const session = await db.get("session");
  const body = {
    client_event_id: crypto.randomUUID(),
    kind,
    stop_key: stop.stop_key,
    stop_seq: stop.seq,
    occurred_at: new Date().toISOString(),
    ...extra,
  };
  if (position) Object.assign(body, { lon: position.lon, lat: position.lat });
  await db.recordAction(
    { ...body, run_id: runId, recorded_at: Date.now() },
    { type: "event", run_id: runId, username: session.username, body, created_at: Date.now() },
  );
  return body;
}

async function act(runId, stop, kind, extra) {
  await record(runId, stop, kind, extra);
  if (kind === "note") ui.toast = t("driver-note-sent");
  ui.notesOpen = false;
  await render();
  sync.flush().then(render);
}

/** The last action of the run that may still be taken back, with whether it was sent. */
async function undoable(runId) {
  const all = (await db.actions()).filter((a) => a.run_id === runId).sort((a, b) => a.recorded_at - b.recorded_at);
  const undone = new Set(all.filter((a) => a.kind === "undo").map((a) => a.undoes));
  const last = all.filter((a) => !["note", "break_started", "break_ended"].includes(a.kind) && !a.withdrawn && !a.refused).pop();
  if (!last || last.kind === "undo" || undone.has(last.client_event_id)) return null;
  if (Date.now() - last.recorded_at > UNDO_SHOWN_MS) return null;
  const unsent = (await db.outbox()).some((i) => i.body.client_event_id === last.client_event_id);
  if (!unsent && !["arrived", "boarded"].includes(last.kind)) return null;
  return last;
}

async function undo(runId, stops) {
  const last = await undoable(runId);
  if (!last) return;
  await sync.exclusive(async () => {
    if (await db.withdraw(last.client_event_id)) return;
    const stop = stops.find((s) => s.stop_key === last.stop_key) ?? { stop_key: last.stop_key, seq: last.stop_seq };
    await record(runId, stop, "undo", { undoes: last.client_event_id });
  });
  ui.toast = t("driver-undone");
  await render();
  sync.flush().then(render);
}

// ---------------------------------------------------------------- screens
async function renderRuns() {
  const cached = await db.get("runs");
  const runs = cached?.data.runs ?? [];
  show(
    h("h1", {}, t("driver-runs-title")),
    cached ? h("p", { class: "muted" }, t("driver-updated-at", { time: time(cached.fetched_at) })) : null,
    runs.length === 0 ? h("p", {}, t("driver-no-runs")) : null,
    h(
      "ul",
      { class: "runs" },
      runs.map((r) =>
        h(
          "li",
          { class: "card" },
          h("p", {}, t("driver-run-summary", { vehicle: r.vehicle_label, from: r.first_stop_at ? time(r.first_stop_at) : "–", to: r.last_stop_at ? time(r.last_stop_at) : "–", stops: r.stop_count })),
          h("a", { class: "big button primary", href: `#/run/${r.run_id}` }, t("driver-open-run")),
        ),
      ),
    ),
    h("button", { class: "small", onclick: async () => { await refreshRuns(); render(); } }, t("driver-refresh")),
  );
}

async function renderRun(runId) {
  const cached = await db.get(`manifest:${runId}`);
  if (!cached) {
    await refreshManifest(runId);
    if (!(await db.get(`manifest:${runId}`))) {
      show(h("p", { class: "warn" }, t("driver-run-unavailable")), h("a", { href: "#/", class: "button" }, t("driver-back")));
      return;
    }
    return renderRun(runId);
  }
  const m = cached.data;
  const actions = (await db.actions()).sort((a, b) => a.recorded_at - b.recorded_at);
  const stops = S.view(m, actions);
  const shown = S.breaks(m, actions);
  const free = S.freeNow(m, stops);
  const next = S.nextStop(stops);
  const selected = stops.find((s) => s.stop_key === ui.selected && s.status !== "done" && s.status !== "skipped") ?? next;
  const banner = await db.get(`banner:${runId}`);
  const gone = await db.get(`gone:${runId}`);
  const refusedItems = (await db.refused()).filter((r) => r.run_id === runId);
  const last = await undoable(runId);
  ui.active = Boolean(next) && stops.some((s) => s.status !== "pending");
  const map = drawRun(stops, m.route, position, next?.stop_key, {
    title: t("driver-map"),
    here: t("driver-you-are-here"),
    attribution: t("driver-map-attribution"),
  });
  drawBase(map).catch((e) => console.error("base map:", e));
  show(
    h("p", {}, h("a", { href: "#/", class: "back" }, t("driver-back"))),
    h("h1", {}, t("driver-run-title", { vehicle: m.vehicle_label })),
    h("p", { class: "muted", id: "updated" }, t("driver-updated-at", { time: time(cached.fetched_at) }), " ", h("button", { class: "small", onclick: async () => { await refreshManifest(runId); render(); } }, t("driver-refresh"))),
    gone ? h("p", { class: "warn", role: "alert" }, t("driver-run-unavailable")) : null,
    banner
      ? h(
          "div",
          { id: "banner", class: "card banner", role: "alert" },
          h("p", {}, h("strong", {}, t("driver-changed"))),
          h("p", {}, [banner.added ? t("driver-changed-added", { count: banner.added }) : null, banner.removed ? t("driver-changed-removed", { count: banner.removed }) : null, banner.moved ? t("driver-changed-moved", { count: banner.moved }) : null].filter(Boolean).join(" · ")),
          h("button", { class: "small", onclick: async () => { await db.del(`banner:${runId}`); render(); } }, t("driver-dismiss")),
        )
      : null,
    ui.updateReady ? h("p", { class: "muted" }, t("driver-update-ready")) : null,
    ui.toast ? h("p", { class: "toast", role: "status" }, ui.toast) : null,
    refusedList(refusedItems, stops, async (id) => { await db.dismissRefused(id); render(); }),
    m.estimated_times ? h("p", { class: "muted" }, t("driver-estimated-times")) : null,
    breakCard(runId, stops, shown),
    h("p", { id: "free", class: "free" }, t("driver-free-now"), " ", h("strong", {}, t("driver-free-seats", { seats: free.seats })), " · ", t("driver-free-wheelchair", { places: free.wheelchair })),
    last
      ? h("button", { id: "undo", class: "big undo", "data-since": String(last.recorded_at), "data-kind": last.kind, onclick: () => undo(runId, stops) }, undoText(last))
      : null,
    selected
      ? stopCard(m, selected, free, stops, selected === next, {
          act: (stop, kind, extra) => act(runId, stop, kind, extra),
          notesOpen: ui.notesOpen,
          toggleNotes: () => { ui.notesOpen = !ui.notesOpen; render(); },
        })
      : h("p", { class: "done" }, t("driver-run-done")),
    h("figure", { class: "mapbox" }, map, h("figcaption", { class: "muted" }, t(m.route && !m.route.estimated ? "driver-map-roads" : "driver-map-sketch"))),
    h(
      "ol",
      { class: "stops" },
      stops.flatMap((s) => [
        h(
          "li",
          { class: `${s.status}${s === selected ? " selected" : ""}`, "data-stop-key": s.stop_key },
          h(
            "button",
            { class: "row", onclick: () => { ui.selected = s.stop_key; ui.notesOpen = false; render(); window.scrollTo(0, 0); } },
            h("span", { class: "t" }, time(s.planned_arrival)),
            h("span", { class: "k" }, t(`driver-kind-${s.kind}`)),
            h("span", { class: "n" }, s.rider ? h("bdi", {}, s.rider.known_as) : "", " ", stopName(s)),
            h("span", { class: `pill ${s.status}` }, t(`driver-stop-status-${s.status}`)),
          ),
        ),
        ...shown
          .filter((b) => b.after_seq === s.seq)
          .map((b) => h("li", { class: "break" }, h("p", {}, t(b.taken ? "driver-break-taken" : "driver-break", { from: time(b.from), to: time(b.to) })))),
      ]),
    ),
  );
  ui.toast = null;
}

/**
 * The driver's break: on one, since when and until when, and the button that ends it;
 * otherwise the next one planned and, once the run is under way, the button that starts one
 * now (where the van is).
 */
function breakCard(runId, stops, shown) {
  const on = shown.find((b) => b.on);
  const here = S.whereNow(stops);
  if (on) {
    return h(
      "div",
      { id: "on-break", class: "card break", role: "status" },
      h("p", {}, t("driver-on-break", { since: time(on.from), until: time(on.to) })),
      h("button", { id: "break-end", class: "big primary", onclick: () => act(runId, here, "break_ended") }, t("driver-break-end")),
    );
  }
  const next = S.nextBreak(shown);
  const started = stops.some((s) => s.status !== "pending") && stops.some((s) => s.status === "pending" || s.status === "arrived");
  if (!next && !started) return null;
  // once its planned start has come, the break is announced as due and its button is the big one
  const due = started && next?.due;
  return h(
    "div",
    { class: "break-next" },
    next
      ? h(
          "p",
          { id: "next-break", class: due ? "break due" : "break" },
          due ? t("driver-break-due", { to: time(next.to) }) : t("driver-next-break", { from: time(next.from), to: time(next.to) }),
        )
      : null,
    started ? h("button", { id: "break-start", class: due ? "big primary" : "small", onclick: () => act(runId, here, "break_started") }, t("driver-break-start")) : null,
  );
}

function undoText(last) {
  const left = Math.max(0, Math.ceil((UNDO_SHOWN_MS - (Date.now() - last.recorded_at)) / 1000));
  return t("driver-undo", { action: t(`driver-action-${last.kind}`), seconds: left });
}

let rendering = Promise.resolve();
/** Draws the screen the route and the session call for (one drawing at a time). */
function render() {
  rendering = rendering.then(draw).catch((e) => console.error(e));
  return rendering;
}

async function draw() {
  await renderBar();
  const session = await db.get("session");
  if (!session || session.expired) return renderLogin(session);
  const { runId } = route();
  if (runId) return renderRun(runId);
  ui.active = false;
  return renderRuns();
}

// ---------------------------------------------------------------- timers and triggers
function tick() {
  for (const el of document.querySelectorAll("#timer")) {
    const s = { arrived_at: el.dataset.timer || null };
    el.textContent = timerText(s, Number(el.dataset.wait));
    const btn = document.querySelector("button[data-action=no_show]");
    if (btn) btn.disabled = S.noShowWait(s, Number(el.dataset.wait)) > 0;
  }
  const u = document.getElementById("undo");
  if (u) {
    if (Date.now() - Number(u.dataset.since) > UNDO_SHOWN_MS) render();
    else u.textContent = undoText({ kind: u.dataset.kind, recorded_at: Number(u.dataset.since) });
  }
}

let backoff = 2000;
let nextTry = 0;
async function heartbeat() {
  const waiting = await db.outboxCount();
  if (waiting && Date.now() >= nextTry) {
    await sync.flush();
    if (sync.status.online) backoff = 2000;
    else backoff = Math.min(backoff * 2, 15000);
    nextTry = Date.now() + backoff;
    render();
  }
  await poll();
  if (sync.status.expired) render();
}

async function reportPosition() {
  const { runId } = route();
  const session = await db.get("session");
  if (!runId || !position || !session || Date.now() - lastPositionSent < POSITION_EVERY_MS || !ui.active) return;
  lastPositionSent = Date.now();
  await db.enqueue({
    type: "position",
    run_id: runId,
    username: session.username,
    body: { client_event_id: crypto.randomUUID(), lon: position.lon, lat: position.lat, recorded_at: new Date(position.at).toISOString() },
    created_at: Date.now(),
  });
}

async function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  // The first worker takes control without a reload; a later one (a new version) reloads the
  // page so that it runs the new code.
  let controlled = Boolean(navigator.serviceWorker.controller);
  const reg = await navigator.serviceWorker.register("sw.js", { scope: "./" });
  // A new version waits until no run is under way: it never takes over in the middle of one.
  const offer = () => {
    if (!reg.waiting) return;
    if (ui.active) {
      if (!ui.updateReady) { ui.updateReady = true; render(); }
    } else reg.waiting.postMessage({ type: "SKIP_WAITING" });
  };
  reg.addEventListener("updatefound", () => {
    const w = reg.installing;
    w?.addEventListener("statechange", () => w.state === "installed" && offer());
  });
  setInterval(offer, 5000);
  let reloading = false;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (controlled && !reloading) {
      reloading = true;
      location.reload();
    }
    controlled = true;
  });
}

async function main() {
  await load((await db.get("lang")) ?? (navigator.language || "it").slice(0, 2));
  ui.langNames = await names();
  sync.onChange(() => renderBar());
  window.addEventListener("hashchange", () => { ui.selected = null; ui.notesOpen = false; render(); });
  window.addEventListener("online", () => sync.flush().then(render));
  document.addEventListener("visibilitychange", () => { if (!document.hidden) sync.flush().then(render); });
  if ("geolocation" in navigator) {
    navigator.geolocation.watchPosition(
      (p) => { position = { lon: p.coords.longitude, lat: p.coords.latitude, at: p.timestamp }; },
      () => {},
      { enableHighAccuracy: true, maximumAge: 30000 },
    );
  }
  navigator.wakeLock?.request("screen").catch(() => {});
  await render();
  setInterval(tick, 1000);
  setInterval(() => heartbeat().catch(() => {}), 3000);
  setInterval(() => reportPosition().catch(() => {}), 5000);
  registerWorker().catch(() => {});
  const session = await db.get("session");
  if (session && !session.expired) sync.flush().then(render);
}

main();
