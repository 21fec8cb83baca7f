// What the driver sees: the cached manifest with the driver's own actions laid over it (the
// same rules as the service's stop state machine), the free places now, and what may be
// pressed. Pure functions: no storage, no network.

const ORDER = { pending: 0, arrived: 1, done: 2, skipped: 3 };
const forward = (from, to) => (ORDER[to] > ORDER[from] ? to : from);

/** Stops of `manifest` after the driver's `actions` (oldest first). */
export function view(manifest, actions) {
  const stops = manifest.stops.map((s) => ({ ...s, rider: s.rider ? { ...s.rider } : undefined }));
  const byKey = new Map(stops.map((s) => [s.stop_key, s]));
  const pair = (s, kind) => stops.find((o) => o.kind === kind && o.rider && o.rider.ride_key === s.rider.ride_key);
  const live = actions.filter((a) => a.run_id === manifest.run_id && !a.withdrawn && !a.refused);
  const undone = new Set(live.filter((a) => a.kind === "undo").map((a) => a.undoes));
  for (const a of live) {
    if (a.kind === "undo" || a.kind === "note" || undone.has(a.client_event_id)) continue;
    const s = byKey.get(a.stop_key);
    if (!s) continue;
    if (a.kind === "arrived") {
      s.status = forward(s.status, s.rider || s.kind === "pickup" || s.kind === "dropoff" ? "arrived" : "done");
      s.arrived_at = s.arrived_at ?? a.occurred_at;
    } else if (s.rider && !["dropped_off", "no_show", "cancelled"].includes(s.rider.status)) {
      if (a.kind === "boarded") {
        s.status = "done";
        s.rider.status = "on_board";
      } else if (a.kind === "no_show") {
        s.status = "done";
        s.rider.status = "no_show";
        const d = pair(s, "dropoff");
        if (d) {
          d.status = forward(d.status, "skipped");
          d.rider.status = "no_show";
        }
      } else if (a.kind === "dropped_off") {
        s.status = "done";
        s.rider.status = "dropped_off";
        const p = pair(s, "pickup");
        if (p) {
          p.status = forward(p.status, "done");
          p.rider.status = "dropped_off";
        }
      }
    }
  }
  // A rider's status is one: on board at the pickup means on board at the drop-off too.
  for (const s of stops) {
    if (s.kind === "dropoff" && s.rider) {
      const p = pair(s, "pickup");
      if (p?.rider.status === "on_board" && s.rider.status === "expected") s.rider.status = "on_board";
    }
    if (!s.arrived_at && s.actual_arrival && s.status !== "pending") s.arrived_at = s.actual_arrival;
    // A cancelled rider's stop has nothing left to do.
    if (s.rider?.status === "cancelled" && s.status === "pending") s.status = "skipped";
  }
  return stops;
}

const BREAK_MS = 45 * 60000;

/**
 * The run's breaks as the driver should see them: the manifest's, with the driver's own break
 * reports that are newer than what it shows laid over them by the service's rule (they may
 * still wait in the outbox): a start takes the break planned at that stop, or else the next
 * one not taken, to that stop and time; an end closes the break that is on. Each is
 * `{ after_seq, from, to, taken, on }` (`on`: the break the driver is on now).
 */
export function breaks(manifest, actions) {
  const list = (manifest.breaks ?? []).map((b) => ({
    after_seq: b.after_seq,
    from: b.planned_start,
    to: b.planned_end,
    taken: Boolean(b.started_at),
    on: Boolean(b.started_at && !b.ended_at),
  }));
  const known = Math.max(0, ...(manifest.breaks ?? []).flatMap((b) => [b.started_at, b.ended_at]).filter(Boolean).map(Date.parse));
  const seqOf = new Map(manifest.stops.map((s) => [s.stop_key, s.seq]));
  const mine = actions.filter(
    (a) => a.run_id === manifest.run_id && !a.withdrawn && !a.refused && (a.kind === "break_started" || a.kind === "break_ended"),
  );
  for (const a of mine) {
    if (Date.parse(a.occurred_at) <= known) continue;
    const open = list.find((b) => b.on);
    if (a.kind === "break_ended") {
      if (open) Object.assign(open, { to: a.occurred_at, on: false });
      continue;
    }
    if (open) continue;
    const seq = seqOf.get(a.stop_key) ?? a.stop_seq;
    const target = list.find((b) => !b.taken && b.after_seq === seq) ?? list.find((b) => !b.taken);
    const taken = { after_seq: seq, from: a.occurred_at, to: new Date(Date.parse(a.occurred_at) + BREAK_MS).toISOString(), taken: true, on: true };
    if (target) Object.assign(target, taken);
    else list.push(taken);
  }
  return list.sort((x, y) => Date.parse(x.from) - Date.parse(y.from));
}

/** The next break not taken whose end is still to come, with `due` once its planned start has come. */
export function nextBreak(shown, now = Date.now()) {
  const next = shown.find((x) => !x.taken && Date.parse(x.to) > now);
  return next ? { ...next, due: Date.parse(next.from) <= now } : null;
}

/** The stop where the van is: the last one reached (or the start), where a break is taken. */
export const whereNow = (stops) => [...stops].reverse().find((s) => s.status !== "pending") ?? stops[0];

/** Seats and wheelchair places free now, from who is on board. */
export function freeNow(manifest, stops) {
  let seated = 0;
  let chairs = 0;
  for (const s of stops) {
    if (s.kind !== "pickup" || s.rider?.status !== "on_board") continue;
    seated += s.rider.passengers - (s.rider.wheelchair ? 1 : 0);
    chairs += s.rider.wheelchair ? 1 : 0;
  }
  return { seats: manifest.seats - seated, wheelchair: manifest.wheelchair_places - chairs };
}

/** Whether the rider of pickup `s` fits in what is free now. */
export function fits(s, free) {
  const r = s.rider;
  return r.passengers - (r.wheelchair ? 1 : 0) <= free.seats && (!r.wheelchair || free.wheelchair >= 1);
}

/** The stop to show first: the first one not finished. */
export const nextStop = (stops) => stops.find((s) => s.status === "pending" || s.status === "arrived");

/** Seconds left before a no-show may be pressed at `s` (0 when it may). */
export function noShowWait(s, waitSeconds, now = Date.now()) {
  if (!s.arrived_at) return waitSeconds;
  return Math.max(0, Math.ceil(waitSeconds - (now - Date.parse(s.arrived_at)) / 1000));
}

/** Which buttons the stop offers. */
export function buttons(s) {
  const st = s.status;
  if (st === "done" || st === "skipped") return [];
  if (s.kind === "pickup") return st === "pending" ? ["arrived"] : ["boarded", "no_show"];
  if (s.kind === "dropoff") return st === "pending" ? ["arrived", "dropped_off"] : ["dropped_off"];
  return ["arrived"];
}

/** What changed between two manifests of a run (by stop_key), for the banner. */
export function changes(before, after) {
  const old = new Map(before.stops.map((s) => [s.stop_key, s]));
  const now = new Map(after.stops.map((s) => [s.stop_key, s]));
  const riders = (m) => [...m.values()].filter((s) => s.kind === "pickup" || s.kind === "dropoff");
  // Counted by rider (a rider has a pickup and a drop-off).
  const count = (stops) => new Set(stops.map((s) => s.rider?.ride_key ?? s.stop_key)).size;
  const added = count(riders(now).filter((s) => !old.has(s.stop_key)));
  const removed = count(
    riders(old)
      .filter((s) => !now.has(s.stop_key))
      .concat(riders(now).filter((s) => s.rider?.status === "cancelled" && old.get(s.stop_key)?.rider?.status !== "cancelled")),
  );
  const moved = riders(now).filter((s) => {
    const o = old.get(s.stop_key);
    return o && Math.abs(Date.parse(o.planned_arrival) - Date.parse(s.planned_arrival)) >= 60000;
  }).length;
  return { added, removed, moved };
}
