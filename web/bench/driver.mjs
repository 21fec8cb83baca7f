// The driver app's figures (prints them; not a test):
//   1. bytes a phone downloads on its first visit, compressed as sent (JS+CSS, and everything);
//   2. time from an offline reload to the run screen drawn from the phone's own storage.
// Same set-up as the browser tests: a fresh database with the demo region and one run, the
// real service, a proxy the script stops to go offline, Debian's chromium.
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ASL, BORGO, JOB_CENTRE, makeRun, PALMORI } from "../tests/fixtures.mjs";
import { freshDatabase, launch, Proxy, startService } from "../tests/harness.mjs";

const RELOADS = Number(process.env.RELOADS ?? 10);
const db = freshDatabase("driver_bench");
const fx = makeRun(db.url, "driver.marco", [
  { known_as: "Moussa", from: BORGO, to: ASL },
  { known_as: "Lamin", from: PALMORI, to: JOB_CENTRE },
  { known_as: "Blessing", from: BORGO, to: ASL, passengers: 2 },
]);
const service = await startService(db.url);
const proxy = new Proxy(service.port);
const app = `${await proxy.start()}/driver/`;
const profile = join(tmpdir(), `passaggio-bench-${process.pid}`);
const ctx = await launch(profile);
try {
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const sizes = new Map();
  const pending = [];
  // The first load of each URL (the service worker's precache then hits the HTTP cache).
  const count = (req) =>
    sizes.has(req.url()) ||
    pending.push(
      req
        .sizes()
        .then((s) => {
          const seen = sizes.get(req.url());
          if (!seen || seen.bytes === 0) sizes.set(req.url(), { type: req.resourceType(), bytes: s.responseBodySize + s.responseHeadersSize });
        })
        .catch((e) => console.error(`no size for ${req.url()}: ${e.message}`)),
    );
  ctx.on("requestfinished", count);
  page.on("requestfinished", count);
  await page.goto(app);
  await page.waitForSelector("#login");
  await page.fill("#username", "driver.marco");
  await page.fill("#password", "passaggio-demo");
  await page.click("#login button[type=submit]");
  await page.click("ul.runs a");
  await page.waitForSelector("#stop");
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.waitForTimeout(500);
  ctx.off("requestfinished", count);
  page.off("requestfinished", count);
  await Promise.all(pending);
  const firstVisit = [...sizes.entries()].filter(([u]) => !u.includes("/api/"));
  const jsCss = firstVisit.filter(([, s]) => s.type === "script" || s.type === "stylesheet");
  const sum = (xs) => xs.reduce((a, [, s]) => a + s.bytes, 0);
  const kb = (b) => `${(b / 1024).toFixed(1)} KB`;

  await proxy.stop();
  const times = [];
  for (let i = 0; i < RELOADS; i++) {
    const t0 = performance.now();
    await page.reload();
    await page.waitForSelector("#stop");
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const ms = (x) => `${x.toFixed(0)} ms`;
  console.log("driver app figures (chromium headless, 360x740, this machine)");
  console.log(`  first visit, JS+CSS as sent (gzip, headers included): ${kb(sum(jsCss))}  (target <= 150 KB)`);
  for (const [u, s] of jsCss) console.log(`    ${s.type.padEnd(10)} ${kb(s.bytes).padStart(9)}  ${new URL(u).pathname}`);
  console.log(`  first visit, every app file (HTML, messages, icon, manifest, sw.js): ${kb(sum(firstVisit))}`);
  console.log(`  offline reload to the cached run screen, ${RELOADS} reloads: median ${ms(times[times.length >> 1])}, max ${ms(times[times.length - 1])}`);
} finally {
  await ctx.close();
  await proxy.stop().catch(() => {});
  service.stop();
  db.drop();
  rmSync(profile, { recursive: true, force: true });
}
