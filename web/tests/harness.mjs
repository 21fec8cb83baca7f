// The browser-test harness shared by every front-end's tests: a fresh database in the test
// cluster with the demo region, the real `dispatch` service in front of it, a TCP proxy the
// test owns (stopping it is "no network" even for the service worker, which Playwright's
// offline switch does not cut), Debian's chromium driven by playwright-core, axe-core, SQL.
//
// Needs: DATABASE_URL (a PostgreSQL/PostGIS cluster where it may create databases), the
// `dispatch` binary (PASSAGGIO_DISPATCH_BIN, default target/debug/dispatch), the built web
// front-ends (web/dist, `node build.mjs`), /usr/bin/chromium (PASSAGGIO_CHROMIUM).
import { AxeBuilder } from "@axe-core/playwright";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import net from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, "../..");
export const screenshots = join(root, ".local/screenshots");

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** Runs SQL with psql; rows as arrays of strings. */
export function sql(url, text) {
  const out = execFileSync("psql", [url, "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", text], {
    encoding: "utf8",
  });
  return out
    .split("\n")
    .filter((l) => l.length)
    .map((l) => l.split("\t"));
}

/** A new database in the cluster of DATABASE_URL, with the demo region loaded. */
export function freshDatabase(name) {
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error("DATABASE_URL must name the test cluster (scripts/pg.sh url test PORT)");
  const db = `${name}_${process.pid}_${Date.now() % 100000}`;
  sql(base, `create database ${db}`);
  const u = new URL(base);
  u.pathname = `/${db}`;
  const url = u.toString();
  execFileSync(dispatchBin(), ["seed-demo"], { env: { ...process.env, DATABASE_URL: url }, stdio: "ignore" });
  return { url, drop: () => sql(base, `drop database if exists ${db} with (force)`) };
}

const dispatchBin = () => process.env.PASSAGGIO_DISPATCH_BIN ?? join(root, "target/debug/dispatch");

/**
 * Starts `dispatch serve` on the database `url`, serving the front-ends of `webDir`; resolves
 * when /health answers.
 */
export async function startService(url, { webDir = join(root, "web/dist") } = {}) {
  const port = await freePort();
  const child = spawn(dispatchBin(), ["serve"], {
    env: {
      ...process.env,
      DATABASE_URL: url,
      PASSAGGIO_LISTEN: `127.0.0.1:${port}`,
      PASSAGGIO_WEB_DIR: webDir,
      PASSAGGIO_MAINTENANCE_INTERVAL_S: "0",
      RUST_LOG: process.env.RUST_LOG ?? "warn",
    },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return { port, base, stop: () => child.kill("SIGTERM") };
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGTERM");
  throw new Error("dispatch did not start");
}

/** A TCP proxy to 127.0.0.1:`target` that the test can cut and restore, on a fixed port. */
export class Proxy {
  constructor(target) {
    this.target = target;
    this.sockets = new Set();
  }
  async start(port = this.port ?? 0) {
    this.server = net.createServer((c) => {
      const u = net.connect(this.target, "127.0.0.1");
      for (const s of [c, u]) {
        this.sockets.add(s);
        s.on("error", () => { c.destroy(); u.destroy(); });
        s.on("close", () => this.sockets.delete(s));
      }
      c.pipe(u);
      u.pipe(c);
    });
    await new Promise((r) => this.server.listen(port, "127.0.0.1", r));
    this.port = this.server.address().port;
    return `http://127.0.0.1:${this.port}`;
  }
  /** No network: refuses new connections and cuts the open ones. */
  async stop() {
    const closed = new Promise((r) => this.server.close(r));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

/** Debian's chromium with a profile folder of its own (kept across relaunches). */
export async function launch(profileDir, options = {}) {
  mkdirSync(profileDir, { recursive: true });
  return chromium.launchPersistentContext(profileDir, {
    executablePath: process.env.PASSAGGIO_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 1,
    isMobile: true,
    hasTouch: true,
    serviceWorkers: "allow",
    ...options,
  });
}

/** axe-core on the page (WCAG 2.2 AA): the serious and critical violations. */
export async function seriousViolations(page) {
  const r = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"])
    .analyze();
  return r.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join("; ")})`);
}

/** Text without Fluent's invisible isolation marks. */
export const plain = (s) => s.replace(/[\u2068\u2069]/g, "");

export async function login(base, username) {
  const r = await fetch(`${base}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: "passaggio-demo" }),
  });
  if (!r.ok) throw new Error(`login ${username}: ${r.status}`);
  return (await r.json()).token;
}
