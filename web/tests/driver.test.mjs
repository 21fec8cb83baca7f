// The driver app in a real browser (Debian's chromium, playwright-core) against the real
// service and a real PostGIS database: a demo driver follows a run, acts at every stop, goes
// offline for real (the proxy the test owns is stopped), reloads, has the browser killed and
// relaunched with the same profile, comes back online; then the database holds every action
// once and in order, with the rides and ledger entries that follow. Also: a refused event is
// shown and does not block the rest; a dispatcher's change reaches the open app; another
// driver's run is refused; axe finds no serious violation on any screen in any language;
// phone-size screenshots are written to .local/screenshots/driver/.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ASL, BORGO, JOB_CENTRE, makeRun, PALMORI } from "./fixtures.mjs";
import { freshDatabase, launch, login, plain, Proxy, root, screenshots, seriousViolations, sql, startService } from "./harness.mjs";

const shots = join(screenshots, "driver");
const WAIT_S = 6; // the no-show wait, set in programme_config for this test
let db;
let service;
let proxy;
let appUrl;
let fx;
let ctx;
let page;
const profile = join(tmpdir(), `passaggio-driver-profile-${process.pid}`);
// The built app, copied: the last test publishes a new version of it.
const webDir = join(tmpdir(), `passaggio-driver-web-${process.pid}`);
let giulia;

before(async () => {
  rmSync(shots, { recursive: true, force: true });
  mkdirSync(shots, { recursive: true });
  db = freshDatabase("driver_browser");
  sql(db.url, `update programme_config set no_show_wait_seconds = ${WAIT_S}`);
  fx = makeRun(db.url, "driver.marco", [
    { known_as: "Moussa", from: BORGO, to: ASL },
    { known_as: "Lamin", from: PALMORI, to: JOB_CENTRE },
    { known_as: "Blessing", from: BORGO, to: ASL, passengers: 2 },
    { known_as: "Mamadou", from: PALMORI, to: ASL },
  ]);
  giulia = makeRun(db.url, "driver.giulia", [{ known_as: "Ibrahima", from: PALMORI, to: ASL }]);
  cpSync(join(root, "web/dist"), webDir, { recursive: true });
  service = await startService(db.url, { webDir });
  proxy = new Proxy(service.port);
  appUrl = `${await proxy.start()}/driver/`;
});

after(async () => {
  await ctx?.close().catch(() => {});
  await proxy?.stop().catch(() => {});
  service?.stop();
  if (!process.env.PASSAGGIO_TEST_KEEP_DB) db?.drop();
  rmSync(profile, { recursive: true, force: true });
  rmSync(webDir, { recursive: true, force: true });
});

const sync = async () => plain(await page.locator("#sync").innerText());
const waiting = async () => Number(await page.locator("#sync").getAttribute("data-waiting"));
const stopCard = () => page.locator("#stop");
const button = (action) => page.locator(`#stop button[data-action=${action}]`);
/** Selects the stop of `name` of kind `kind` (as the list says it) in the run's list. */
const select = (name, kind) =>
  page.locator("ol.stops li").filter({ hasText: name }).filter({ hasText: kind }).locator("button.row").click();

async function noSerious(label) {
  const v = await seriousViolations(page);
  assert.deepEqual(v, [], `axe on ${label}`);
}

/** Axe on the current screen in every language, back in Italian. */
async function axeInEveryLanguage(label) {
  for (const lang of ["en", "it"]) {
    await page.selectOption("#lang", lang);
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
    await noSerious(`${label} (${lang})`);
  }
}

function events() {
  return sql(
    db.url,
    `select e.kind, coalesce(p.known_as, s.kind::text, '?'), e.client_event_id, e.location is not null
     from driver_event e
     left join ride_request rr on rr.ride_request_id = e.ride_request_id
     left join person p on p.person_id = rr.person_id
     left join run_stop s on s.run_id = e.run_id and s.seq = e.stop_seq and e.ride_request_id is null
     where e.run_id = '${fx.runId}' order by e.received_at, e.occurred_at, e.client_event_id`,
  );
}

test("a driver follows a run through an outage, a reload and a browser restart", { timeout: 240000 }, async (t) => {
  t.after(async () => {
    if (t.passed === false) await page?.screenshot({ path: join(shots, "failure.png") }).catch(() => {});
  });
  ctx = await launch(profile, {
    geolocation: { latitude: 41.4899, longitude: 15.6334 },
    permissions: ["geolocation"],
    locale: "it-IT",
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on("pageerror", (e) => console.error("page error:", e));
  await page.goto(appUrl);

  // Sign-in: axe in both languages; a wrong password says so.
  await page.waitForSelector("#login");
  await axeInEveryLanguage("sign-in");
  await page.fill("#username", "driver.marco");
  await page.fill("#password", "passaggio-demo");
  await page.click("#login button[type=submit]");

  // Today's runs, then the run: ordered stops, the next one first.
  await page.waitForSelector("ul.runs li");
  await axeInEveryLanguage("runs");
  await page.click("ul.runs a");
  await page.waitForSelector("#stop");
  assert.equal(await page.locator("ol.stops li").count(), 10);
  assert.match(plain(await page.locator("#free").innerText()), /4 posti liberi/);
  assert.match(plain(await stopCard().textContent()), /Prossima fermata/);
  assert.equal(await sync(), "tutto inviato ✓");
  // No case data: the manifest the app holds has first names only.
  const body = await page.evaluate(() => document.body.innerText);
  for (const word of ["case_id", "person_id", "budget", "nationality"]) assert.ok(!body.includes(word));
  // The map: the run's stops numbered, OSM attribution, and the base map of `make tiles`.
  await page.waitForSelector("svg.map[data-base]", { timeout: 10000 });
  assert.ok((await page.locator("svg.map g.base polyline").count()) > 0, "roads drawn under the run");
  assert.match(await page.locator("svg.map").textContent(), /© OpenStreetMap contributors/);
  await page.screenshot({ path: join(shots, "run.png"), fullPage: false });
  await page.locator("figure.mapbox").screenshot({ path: join(shots, "map.png") });
  await axeInEveryLanguage("run");

  // Stop 0 (start): arrived.
  await button("arrived").click();
  await page.waitForFunction(() => document.querySelector("#stop .eyebrow")?.textContent.includes("Salita"));

  // Stop 1 (Moussa): arrived, on board; undo the boarding; on board again.
  assert.match(plain(await stopCard().textContent()), /Moussa/);
  assert.match(plain(await stopCard().textContent()), /Ingresso pista|Piazza|Borgo/);
  assert.equal(await page.locator("#stop a[href^='geo:']").count(), 1);
  assert.equal(await page.locator("#stop a[href*='google.com/maps/dir']").count(), 1);
  await button("arrived").click();
  await button("boarded").click();
  await page.waitForSelector("#undo");
  await page.waitForFunction(() => document.querySelector("#sync")?.dataset.waiting === "0");
  await page.click("#undo");
  await page.waitForSelector("#stop button[data-action=boarded]");
  assert.match(plain(await stopCard().textContent()), /Moussa/);
  await button("boarded").click();
  await page.waitForFunction(() => document.querySelector("#stop")?.innerText.includes("Lamin"));
  assert.match(plain(await page.locator("#free").innerText()), /3 posti liberi/);

  // Stop 2 (Lamin): arrived; no-show is disabled until the wait is over, then a note and
  // the no-show.
  await button("arrived").click();
  await page.waitForSelector("#timer");
  assert.equal(await button("no_show").isDisabled(), true);
  assert.match(plain(await page.locator("#timer").innerText()), /Assente possibile tra 0:0\d/);
  await page.screenshot({ path: join(shots, "stop.png") });
  await axeInEveryLanguage("stop with the no-show timer");
  await page.click("#stop button:has-text('Aggiungi nota')");
  await page.click("#stop button[data-note=rider_late]");
  await page.waitForFunction(() => !document.querySelector("#stop button[data-action=no_show]")?.disabled, null, {
    timeout: (WAIT_S + 5) * 1000,
  });
  await button("no_show").click();
  await page.waitForFunction(() => document.querySelector("#stop")?.innerText.includes("Blessing"));
  await page.waitForFunction(() => document.querySelector("#sync")?.dataset.waiting === "0");

  // A dispatcher's change reaches the open app: Mamadou's ride is cancelled by his Polo.
  const cw = await login(service.base, "cw.foggia");
  const cancel = await fetch(`${service.base}/api/ride-requests/${fx.requests[3]}/cancel`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${cw}` },
    body: JSON.stringify({ reason: "appointment moved" }),
  });
  assert.equal(cancel.status, 200, await cancel.text());
  await page.waitForFunction(() => document.querySelector("#banner")?.innerText.replace(/[\u2068\u2069]/g, "").includes("1 passeggero annullato"), null, {
    timeout: 15000,
  });
  assert.match(plain(await page.locator("#banner").innerText()), /L'ufficio ha modificato questa corsa/);
  await page.click("#banner button");

  // Offline for real: the proxy is stopped. Meanwhile the office swaps the vehicle for one
  // with 2 seats, so the boarding the phone accepts (3 free by its manifest) will be refused.
  await proxy.stop();
  sql(db.url, `update vehicle set seats = 2 where vehicle_id = '${fx.vehicleId}'`);
  await button("arrived").click();
  await button("boarded").click();
  await page.waitForFunction(() => document.querySelector("#sync")?.dataset.waiting === "2");
  await page.waitForSelector("#net.off", { timeout: 15000 });
  assert.equal(await sync(), "2 da inviare");
  await page.screenshot({ path: join(shots, "offline.png") });
  await axeInEveryLanguage("offline run");

  // Reload with no network: the app and the run come from the phone.
  await page.reload();
  await page.waitForSelector("#stop");
  assert.equal(await waiting(), 2);
  assert.match(plain(await page.locator("#updated").innerText()), /Aggiornato alle/);
  // Stop 5: Moussa is dropped off (offline).
  await select("Moussa", "Discesa");
  assert.match(plain(await stopCard().textContent()), /Moussa/);
  await button("dropped_off").click();
  await page.waitForFunction(() => document.querySelector("#sync")?.dataset.waiting === "3");
  // Sign-out is refused while anything waits.
  await page.click("#logout");
  assert.match(plain(await page.locator(".toast").innerText()), /Non puoi uscire: 3 azioni/);

  // Kill the browser and start it again with the same profile, still offline.
  await ctx.close();
  ctx = await launch(profile, { geolocation: { latitude: 41.46, longitude: 15.55 }, permissions: ["geolocation"], locale: "it-IT" });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  await page.goto(`${appUrl}#/run/${fx.runId}`);
  await page.waitForSelector("#stop");
  assert.equal(await waiting(), 3);
  assert.equal(events().length, 8, "nothing of the offline work reached the service yet");

  // Meanwhile the login expired. Back online, the app asks for the password again and keeps
  // what waits; once signed in, everything is sent, the refused boarding is shown, and the
  // rest went on.
  sql(db.url, `update staff_session set expires_at = now() - interval '1 minute'
               where staff_id = (select staff_id from staff where username = 'driver.marco')`);
  await proxy.start();
  await page.waitForSelector("#login", { timeout: 30000 });
  assert.match(plain(await page.locator("#login").innerText()), /L'accesso è scaduto/);
  assert.equal(await waiting(), 3);
  await axeInEveryLanguage("expired login");
  await page.fill("#password", "passaggio-demo");
  await page.click("#login button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#sync")?.dataset.waiting === "0", null, { timeout: 30000 });
  assert.equal(await sync(), "tutto inviato ✓");
  await page.waitForSelector("#refused");
  assert.match(plain(await page.locator("#refused").innerText()), /il veicolo era pieno/);
  await noSerious("refused item");
  // Blessing is dropped off all the same, and the run ends.
  await select("Blessing", "Discesa");
  assert.match(plain(await stopCard().textContent()), /Blessing/);
  await button("dropped_off").click();
  await page.waitForFunction(() => document.querySelector("#stop .eyebrow")?.textContent.includes("Fine"));
  await button("arrived").click();
  await page.waitForSelector("p.done");
  await page.waitForFunction(() => document.querySelector("#sync")?.dataset.waiting === "0");

  // The database: every action once, in order; the refused boarding not kept.
  const ev = events();
  const ids = ev.map((e) => e[2]);
  assert.equal(new Set(ids).size, ids.length, "each action once");
  assert.deepEqual(
    ev.map((e) => `${e[0]}@${e[1]}`),
    [
      "arrived@start",
      "arrived@Moussa",
      "boarded@Moussa",
      "undo@Moussa",
      "boarded@Moussa",
      "arrived@Lamin",
      "note@Lamin",
      "no_show@Lamin",
      "arrived@Blessing",
      "dropped_off@Moussa",
      "dropped_off@Blessing",
      "arrived@end",
    ],
  );
  assert.ok(ev.every((e) => e[3] === "t"), "every event carries the phone's position");
  const rides = sql(
    db.url,
    `select p.known_as, r.outcome from ride r join ride_request rr using (ride_request_id)
     join person p on p.person_id = rr.person_id where r.run_id = '${fx.runId}' order by p.known_as`,
  );
  assert.deepEqual(rides.map((r) => r.join(":")), ["Blessing:completed", "Lamin:no_show", "Moussa:completed"]);
  const charges = sql(
    db.url,
    `select count(*) from ledger_entry where external_ref in
       (select 'ride:' || ride_request_id from ride where run_id = '${fx.runId}' and funding_source_id is not null)`,
  );
  const funded = sql(db.url, `select count(*) from ride where run_id = '${fx.runId}' and funding_source_id is not null`);
  assert.equal(charges[0][0], funded[0][0], "one ledger charge per funded ride");
  assert.ok(Number(funded[0][0]) >= 2, "the completed rides are charged");
  const [[status]] = sql(db.url, `select status from run where run_id = '${fx.runId}'`);
  assert.equal(status, "completed");
  const [[positions]] = sql(db.url, `select count(*) from vehicle_position where run_id = '${fx.runId}'`);
  assert.ok(Number(positions) >= 1, "positions reported while the run was active");
});

test("another driver cannot act on this run, in the browser or through the API", { timeout: 60000 }, async () => {
  const other = await launch(join(profile, "amadou"), { locale: "en-GB" });
  const p = other.pages()[0] ?? (await other.newPage());
  try {
    await p.goto(appUrl);
    await p.fill("#username", "driver.amadou");
    await p.fill("#password", "passaggio-demo");
    await p.click("#login button[type=submit]");
    await p.waitForSelector("ul.runs", { state: "attached" });
    assert.equal(await p.locator("ul.runs li").count(), 0);
    await p.goto(`${appUrl}#/run/${fx.runId}`);
    await p.waitForSelector("p.warn");
    assert.match(plain(await p.locator("main").innerText()), /no longer yours/);
    const status = await p.evaluate(async (runId) => {
      const token = await new Promise((resolve) => {
        const open = indexedDB.open("passaggio-driver");
        open.onsuccess = () => {
          const get = open.result.transaction("kv").objectStore("kv").get("session");
          get.onsuccess = () => resolve(get.result.token);
        };
      });
      const r = await fetch(`/driver/api/runs/${runId}/events`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ events: [{ client_event_id: crypto.randomUUID(), kind: "arrived", stop_key: "00000000-0000-0000-0000-000000000000", occurred_at: new Date().toISOString() }] }),
      });
      return r.status;
    }, fx.runId);
    assert.equal(status, 404);
    // Signing out with nothing waiting forgets everything about people on the phone.
    await p.click("#logout");
    await p.waitForSelector("#login");
    const left = await p.evaluate(
      () =>
        new Promise((resolve) => {
          const open = indexedDB.open("passaggio-driver");
          open.onsuccess = () => {
            const keys = open.result.transaction("kv").objectStore("kv").getAllKeys();
            keys.onsuccess = () => resolve(keys.result);
          };
        }),
    );
    assert.deepEqual(left.filter((k) => k !== "lang"), []);
  } finally {
    await other.close();
  }
});

const UPDATE_CHECK_MS = Number(process.env.PASSAGGIO_TEST_UPDATE_CHECK_MS ?? 15000);

test("a new version of the app waits while a run is under way", { timeout: 120000 }, async () => {
  // the planner gave this run a driver's break after the pickup
  sql(
    db.url,
    `insert into run_break (region_code, run_id, after_seq, planned_start, planned_end)
     values ('puglia', '${giulia.runId}', 1, now() + interval '1 hour', now() + interval '105 minutes')`,
  );
  // each step's time since the start, printed, so that a slow run shows where it waited
  const t0 = Date.now();
  const step = (what) => console.log(`new-version test: ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  let c = await launch(join(profile, "giulia"), { locale: "en-GB" });
  let p = c.pages()[0] ?? (await c.newPage());
  try {
    await p.goto(appUrl);
    await p.fill("#username", "driver.giulia");
    await p.fill("#password", "passaggio-demo");
    await p.click("#login button[type=submit]");
    await p.click("ul.runs a");
    await p.waitForSelector("#stop");
    // the break: in the list after its stop, and announced at the top
    assert.equal(await p.locator("ol.stops li.break").count(), 1);
    assert.match(plain(await p.locator("ol.stops li.break").innerText()), /^Break \d\d:\d\d–\d\d:\d\d, nobody on board$/);
    const after = await p.locator("ol.stops > li").nth(2).getAttribute("class");
    assert.equal(after, "break", "the break comes right after the pickup");
    assert.match(plain(await p.locator("#next-break").innerText()), /Your next break: .*45 minutes/);
    assert.deepEqual(await seriousViolations(p), [], "axe on a run with a break");
    await p.screenshot({ path: join(shots, "break.png"), fullPage: true });
    await p.waitForFunction(() => navigator.serviceWorker.controller !== null);
    await p.locator("#stop button[data-action=arrived]").click();
    await p.locator("#stop button[data-action=arrived]").click();
    await p.waitForFunction(() => document.querySelector("#sync")?.dataset.waiting === "0");
    // The driver takes the break now, earlier than planned, where the van is: the service
    // records it on the planned break; the screen says until when, and ends it on request.
    const taken = () =>
      sql(db.url, `select after_seq, started_at is not null, ended_at is not null from run_break where run_id = '${giulia.runId}'`);
    step("break start");
    await p.click("#break-start");
    await p.waitForSelector("#on-break");
    assert.match(plain(await p.locator("#on-break").innerText()), /On your break since \d\d:\d\d, until \d\d:\d\d/);
    // the list shows it where the van is, taken, from the phone's own report
    assert.match(plain(await p.locator("ol.stops li.break").innerText()), /^Break taken \d\d:\d\d–\d\d:\d\d$/);
    await p.waitForFunction(() => document.querySelector("#sync")?.dataset.waiting === "0");
    const at = sql(db.url, `select max(seq) from run_stop where run_id = '${giulia.runId}' and status <> 'pending'`)[0][0];
    assert.deepEqual(taken(), [[at, "t", "f"]], "the planned break is taken where the van is");
    assert.deepEqual(await seriousViolations(p), [], "axe on a driver on a break");
    await p.screenshot({ path: join(shots, "on-break.png"), fullPage: true });
    step("break end");
    await p.click("#break-end");
    await p.waitForSelector("#on-break", { state: "detached" });
    await p.waitForFunction(() => document.querySelector("#sync")?.dataset.waiting === "0");
    assert.deepEqual(taken(), [[at, "t", "t"]], "and it is over");
    // the phone sees the change of the run (its fingerprint) and shows the break as taken
    await p.waitForFunction(() => document.querySelector("ol.stops li.break")?.innerText.startsWith("Break taken"), null, { timeout: 15000 });
    assert.match(plain(await p.locator("ol.stops li.break").innerText()), /^Break taken \d\d:\d\d–\d\d:\d\d$/);
    assert.equal(await p.locator("#next-break").count(), 0, "no other break is planned");
    // the dispatcher's plan gets another break whose start has come: it is announced as due
    sql(
      db.url,
      `insert into run_break (region_code, run_id, after_seq, planned_start, planned_end)
       values ('puglia', '${giulia.runId}', ${at}, now() - interval '5 minutes', now() + interval '40 minutes')`,
    );
    await p.waitForSelector("#next-break.due", { timeout: 15000 });
    assert.match(plain(await p.locator("#next-break").innerText()), /^Your break is due now \(planned until \d\d:\d\d\)$/);
    assert.equal(await p.locator("#break-start").getAttribute("class"), "big primary");
    assert.deepEqual(await seriousViolations(p), [], "axe on a break that is due");
    await p.screenshot({ path: join(shots, "break-due.png") });
    const scriptOf = () =>
      p.evaluate(async () => {
        const r = await navigator.serviceWorker.getRegistration();
        return { active: r.active?.scriptURL, waiting: Boolean(r.waiting) };
      });
    step("new version published");
    // A new version is published in the middle of the run.
    appendFileSync(join(webDir, "driver/sw.js"), "\n// a new version\n");
    rmSync(join(webDir, "driver/sw.js.gz"), { force: true });
    // The browser's update check, bounded: Chromium now and then leaves one pending for three
    // minutes and then fails it ("an unknown error occurred when fetching the script") with
    // the server never asked (seen in CI, and in 4 of 9 runs here within one quarter of an hour,
    // then in none of 30). A check that has not settled in 15 s is given up: the phone is
    // restarted on the same profile, back on the run, and checks again.
    for (let attempt = 1; ; attempt++) {
      const check = await p.evaluate(
        (ms) =>
          Promise.race([
            navigator.serviceWorker.getRegistration().then((r) => r.update()).then(() => "done", (e) => `failed: ${e.message}`),
            new Promise((resolve) => setTimeout(() => resolve(`still pending after ${ms / 1000} s`), ms)),
          ]),
        UPDATE_CHECK_MS,
      );
      step(`update check ${attempt}: ${check}`);
      if (check === "done") break;
      // what the sockets of the proxy were doing meanwhile, for the next one who looks into it
      try {
        const port = new URL(appUrl).port;
        console.log(execFileSync("ss", ["-tnpo"], { encoding: "utf8" }).split("\n").filter((l) => l.includes(`:${port}`)).join("\n"));
      } catch {}
      assert.ok(attempt < 3, `the browser's update check: ${check}`);
      await c.close();
      c = await launch(join(profile, "giulia"), { locale: "en-GB" });
      p = c.pages()[0] ?? (await c.newPage());
      await p.goto(`${appUrl}#/run/${giulia.runId}`);
      await p.waitForSelector("#stop");
      await p.waitForFunction(() => navigator.serviceWorker.controller !== null);
    }
    await p.waitForFunction(() => document.body.innerText.includes("A new app version is ready"), null, { timeout: 20000 });
    await p.waitForTimeout(6000);
    assert.equal((await scriptOf()).waiting, true, "the new version still waits");
    assert.ok(await p.locator("#stop").isVisible(), "the run screen stayed");
    step("back to the list");
    // Back on the list of runs (no run under way on screen) it takes over.
    const reloaded = p.waitForEvent("load", { timeout: 20000 });
    await p.click("a.back");
    await reloaded;
    await p.waitForFunction(async () => !(await navigator.serviceWorker.getRegistration())?.waiting, null, {
      timeout: 20000,
    });
  } finally {
    await c.close();
  }
});
