// Sending the outbox: one sender at a time (Web Locks across tabs, a promise within one),
// oldest first, consecutive items of one run and kind in one batch. The events endpoint
// answers per item: applied or known items leave the outbox, refused ones go to the `refused`
// store (shown to the driver) and the rest goes on. Nothing is dropped on a network failure
// or an expired login: the next flush (on start, `online`, visibility, after a tap, on a
// backoff timer) tries again.
import * as api from "./api.js";
import * as db from "./db.js";

const BATCH = 100;
let running = null;
const listeners = new Set();
export const status = { online: navigator.onLine, expired: false, lastError: null };

export const onChange = (f) => listeners.add(f);
const changed = () => listeners.forEach((f) => f());

/** Sends what waits; resolves when done (or when the network or the login stops it). */
export function flush() {
  if (running) return running;
  const go = () => drain().finally(() => (running = null));
  running = navigator.locks ? navigator.locks.request("passaggio-outbox", go) : go();
  return running;
}

/** Runs `f` while no flush is sending (for an undo that must know what was sent). */
export async function exclusive(f) {
  if (running) await running.catch(() => {});
  return navigator.locks ? navigator.locks.request("passaggio-outbox", f) : f();
}

async function drain() {
  const session = await db.get("session");
  if (!session || session.expired) return;
  for (;;) {
    const all = (await db.outbox()).filter((i) => i.username === session.username);
    if (all.length === 0) break;
    const first = all[0];
    const batch = [];
    for (const it of all) {
      if (it.run_id !== first.run_id || it.type !== first.type || batch.length === BATCH) break;
      batch.push(it);
    }
    try {
      await send(first.run_id, first.type, batch);
      status.online = true;
      status.lastError = null;
    } catch (e) {
      if (e instanceof api.Offline) status.online = false;
      else if (e instanceof api.Expired) status.expired = true;
      else status.lastError = e;
      changed();
      return;
    }
    changed();
  }
}

async function send(runId, type, batch) {
  const bodies = batch.map((i) => i.body);
  let result;
  try {
    result = type === "event" ? await api.postEvents(runId, bodies) : await api.postPositions(runId, bodies);
  } catch (e) {
    // The run itself is refused (no longer the driver's, cancelled, or the batch is malformed):
    // file every item as refused rather than block the outbox behind it.
    if (e instanceof api.HttpError && e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429) {
      const code = e.body?.error?.code ?? `http_${e.status}`;
      const refusals = new Map(
        batch.map((i) => [i.body.client_event_id, { client_event_id: i.body.client_event_id, code, message: e.body?.error?.message ?? "" }]),
      );
      await db.settle(batch, type === "event" ? refusals : new Map());
      return;
    }
    throw e;
  }
  const refusals = new Map((result.refused ?? []).map((r) => [r.client_event_id, r]));
  await db.settle(batch, refusals);
}
