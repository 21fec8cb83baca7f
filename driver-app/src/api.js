// The only module that talks to the service: the driver API (/driver/api/*) and sign-in.
// A network failure is `Offline`; a refused login (401) is `Expired`: the caller keeps its work.
import * as db from "./db.js";

export class Offline extends Error {}
export class Expired extends Error {}
export class HttpError extends Error {
  constructor(status, body) {
    super(`HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

const TIMEOUT_MS = 10000;

async function call(method, path, body) {
  const session = await db.get("session");
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (session?.token) headers.authorization = `Bearer ${session.token}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch {
    throw new Offline();
  }
  if (res.status === 401 && !path.endsWith("/login")) {
    if (session) await db.set("session", { ...session, expired: true });
    throw new Expired();
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new HttpError(res.status, data);
  return data;
}

export const login = (username, password) => call("POST", "/api/auth/login", { username, password });
export const logout = () => call("POST", "/api/auth/logout", {});
export const runs = () => call("GET", "/driver/api/runs");
export const manifest = (runId) => call("GET", `/driver/api/runs/${runId}`);
export const version = (runId) => call("GET", `/driver/api/runs/${runId}/version`);
export const postEvents = (runId, events) => call("POST", `/driver/api/runs/${runId}/events`, { events });
export const postPositions = (runId, positions) =>
  call("POST", `/driver/api/runs/${runId}/positions`, { positions });
