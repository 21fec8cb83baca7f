// The phone's storage (IndexedDB through idb): nothing the driver did is ever only in memory.
//   kv       session, language, cached runs and manifests (with when they were fetched)
//   outbox   what waits to be sent, in the order it happened (auto-increment key)
//   actions  the driver's own stop actions of the day, shown over the cached manifest
//   refused  items the office refused, shown to the driver until dismissed
// Logout (refused while the outbox is not empty) clears everything about people.
import { openDB } from "idb";

const dbp = openDB("passaggio-driver", 1, {
  upgrade(db) {
    db.createObjectStore("kv");
    db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true });
    db.createObjectStore("actions", { keyPath: "client_event_id" });
    db.createObjectStore("refused", { keyPath: "client_event_id" });
  },
});

export const get = async (key) => (await dbp).get("kv", key);
export const set = async (key, value) => (await dbp).put("kv", value, key);
export const del = async (key) => (await dbp).delete("kv", key);

/** Records a stop action: into the outbox and the action log, in one transaction. */
export async function recordAction(action, item) {
  const db = await dbp;
  const tx = db.transaction(["outbox", "actions"], "readwrite");
  await Promise.all([tx.objectStore("outbox").add(item), tx.objectStore("actions").put(action), tx.done]);
}

export async function enqueue(item) {
  return (await dbp).add("outbox", item);
}

export const outbox = async () => (await dbp).getAll("outbox");
export const outboxCount = async () => (await dbp).count("outbox");

/** Removes sent items (by client_event_id) and files refused ones, in one transaction. */
export async function settle(items, refusals) {
  const db = await dbp;
  const tx = db.transaction(["outbox", "refused", "actions"], "readwrite");
  for (const it of items) {
    await tx.objectStore("outbox").delete(it.seq);
    const r = refusals.get(it.body.client_event_id);
    if (r) {
      await tx.objectStore("refused").put({ ...r, item: it.body, run_id: it.run_id });
      // A refused action did not happen for the office: stop showing it as done.
      const a = await tx.objectStore("actions").get(it.body.client_event_id);
      if (a) await tx.objectStore("actions").put({ ...a, refused: true });
    }
  }
  await tx.done;
}

/** Drops an action that was never sent (undo before sending); false when it was sent. */
export async function withdraw(clientEventId) {
  const db = await dbp;
  const tx = db.transaction(["outbox", "actions"], "readwrite");
  let found = false;
  let cursor = await tx.objectStore("outbox").openCursor();
  while (cursor) {
    if (cursor.value.body.client_event_id === clientEventId) {
      await cursor.delete();
      found = true;
    }
    cursor = await cursor.continue();
  }
  if (found) {
    const a = await tx.objectStore("actions").get(clientEventId);
    if (a) await tx.objectStore("actions").put({ ...a, withdrawn: true });
  }
  await tx.done;
  return found;
}

export const actions = async () => (await dbp).getAll("actions");
export const putAction = async (a) => (await dbp).put("actions", a);
export const refused = async () => (await dbp).getAll("refused");
export const dismissRefused = async (id) => (await dbp).delete("refused", id);

/** Forgets everything but the language (logout). */
export async function clearAll() {
  const db = await dbp;
  const lang = await db.get("kv", "lang");
  const tx = db.transaction(["kv", "outbox", "actions", "refused"], "readwrite");
  await Promise.all(["kv", "outbox", "actions", "refused"].map((s) => tx.objectStore(s).clear()));
  if (lang) await tx.objectStore("kv").put(lang, "lang");
  await tx.done;
}
