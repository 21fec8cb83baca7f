// The coordinator console in Debian's chromium at desktop size, against the real service and
// a real PostGIS database: a coordinator signs in, books appointment transport for a person of
// the Polo, runs the planning and waits for it in the page, sees the plan on the map (the runs
// drawn are counted), moves a request, corrects a no-show and sees the ledger follow; a
// coordinator of another Polo cannot find or open that person (search, list, typed URL).
// Every page is checked with axe-core; a screenshot of each main screen is written to
// .local/screenshots/console/.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { freshDatabase, launch, login, plain, root, screenshots, seriousViolations, sql, startService } from "./harness.mjs";
import { ASL, BORGO, makeRun } from "./fixtures.mjs";

const shots = join(screenshots, "console");
let db;
let svc;
let ctx;
let page;

const desktop = { viewport: { width: 1280, height: 800 }, isMobile: false, hasTouch: false };

async function shot(name, fullPage = false) {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage });
}

async function accessible(what) {
  const v = await seriousViolations(page);
  assert.deepEqual(v, [], `${what}: serious or critical accessibility violations`);
}

async function signIn(username) {
  await page.goto(`${svc.base}/console/login`);
  await page.fill("#username", username);
  await page.fill("#password", "passaggio-demo");
  await Promise.all([page.waitForURL(`${svc.base}/console/`), page.click("form[action='/console/login'] button")]);
}

async function signOut() {
  await page.goto(`${svc.base}/console/`);
  await Promise.all([page.waitForURL(/\/console\/login$/), page.click("form[action='/console/logout'] button")]);
}

const one = (q) => sql(db.url, q)[0][0];
const tomorrow = () => one("select ((now() at time zone 'Europe/Rome')::date + 1)::text");

before(async () => {
  db = freshDatabase("console");
  svc = await startService(db.url);
  ctx = await launch(join(root, ".local/chromium/console"), desktop);
  page = await ctx.newPage();
});

after(async () => {
  await ctx?.close();
  svc?.stop();
  db?.drop();
});

let outbound;
const person = "Moussa";
let caseId;
let caseCode;

test("without a session the console sends to the sign-in page; a wrong password is refused", async () => {
  await ctx.clearCookies();
  await page.goto(`${svc.base}/console/`);
  assert.match(page.url(), /\/console\/login$/);
  await accessible("sign-in");
  await shot("login");
  await page.fill("#username", "coord.foggia");
  await page.fill("#password", "wrong-password");
  await page.click("form[action='/console/login'] button");
  await page.waitForURL(/failed=wrong/);
  assert.ok(await page.locator("[role=alert]").isVisible());
  // The API takes no cookie: only bearer tokens.
  await signIn("coord.foggia");
  const api = await page.evaluate(async () => (await fetch("/api/me")).status);
  assert.equal(api, 401, "the console's cookie must not open the JSON API");
  const cookies = await ctx.cookies();
  const c = cookies.find((c) => c.name === "passaggio_staff");
  assert.ok(c?.httpOnly, "the session cookie is HttpOnly");
  assert.equal(c.sameSite, "Lax");
});

test("a coordinator finds a person of the Polo by case code and books an appointment there and back", async () => {
  [[caseId, caseCode]] = sql(
    db.url,
    `select c.case_id, c.pai_reference from care_case c join person p using (region_code, person_id)
     where p.known_as = '${person}'`,
  );
  await page.goto(`${svc.base}/console/book`);
  await page.fill("#q", caseCode);
  await page.click("form[role=search] button");
  await page.waitForURL(/\/console\/book\?q=/);
  const link = page.locator(`a[href="/console/people/${caseId}"]`);
  assert.equal(await link.count(), 1, "the person is found by case code");
  await accessible("search");
  await shot("search");
  await link.click();
  await page.waitForURL(`${svc.base}/console/people/${caseId}`);
  await accessible("person");
  await page.selectOption("#place_id", { label: ASL });
  await page.fill("#description", "Visita medica");
  await page.fill("#date", tomorrow());
  await page.fill("#starts", "10:30");
  await page.fill("#ends", "11:30");
  await shot("person");
  await Promise.all([page.waitForURL(/\/console\/requests\/.*booked=1/), page.click("form[action$='/appointments'] button")]);
  outbound = page.url().split("/console/requests/")[1].split("?")[0];
  const promised = await page.locator("[data-promised]").count();
  assert.equal(promised, 2, "the outbound and the return ride are shown together");
  const rows = sql(
    db.url,
    `select purpose, status, booked_channel from ride_request where appointment_id =
       (select appointment_id from ride_request where ride_request_id = '${outbound}') order by purpose`,
  );
  assert.deepEqual(rows.map((r) => r.join(":")), ["appointment:requested:coordinator", "return:requested:coordinator"]);
  await accessible("request");
  await shot("booked");
});

test("the coordinator runs the planning of tomorrow, waits for it in the page and sees the runs on the map", async () => {
  await page.goto(`${svc.base}/console/planning?date=${tomorrow()}`);
  await page.fill("#time_limit_s", "3");
  await Promise.all([page.waitForURL(/\/console\/planning\?job=/), page.click("form[action='/console/planning'] button")]);
  // The page follows the job and reloads when it is done.
  await page.waitForSelector("[data-plan-done]", { timeout: 60000 });
  const runs = Number(one(`select count(*) from run where service_date = '${tomorrow()}' and status <> 'cancelled'`));
  assert.ok(runs >= 1, "the planning made runs");
  await page.waitForSelector("#plan-map[data-runs]", { timeout: 20000 });
  const drawn = await page.locator("#plan-map path.run-line").count();
  assert.equal(drawn, runs, "every run of the day is drawn on the map");
  const ids = await page.locator("#plan-map path.run-line").evaluateAll((ps) => ps.map((p) => p.dataset.runId));
  const inDb = sql(db.url, `select run_id from run where service_date = '${tomorrow()}' and status <> 'cancelled'`).map((r) => r[0]);
  assert.deepEqual([...ids].sort(), [...inDb].sort(), "the lines drawn are the day's runs");
  const stopsDb = Number(
    one(`select count(*) from run_stop s join run r using (run_id) where r.service_date = '${tomorrow()}'
         and r.status <> 'cancelled' and s.kind in ('pickup', 'dropoff')`),
  );
  assert.equal(await page.locator("#plan-map .run-stop").count(), stopsDb, "every stop is a numbered marker");
  const breaksDb = Number(
    one(`select count(*) from run_break b join run r using (region_code, run_id)
         where r.service_date = '${tomorrow()}' and r.status <> 'cancelled'`),
  );
  assert.equal(await page.locator("#plan-map .run-break").count(), breaksDb, "every driver's break is a pause marker");
  console.log(`planning map: ${runs} runs, ${stopsDb} stops, ${breaksDb} breaks`);
  assert.ok((await page.locator("#plan-map .meeting-point").count()) > 0, "meeting points are drawn");
  assert.ok((await page.locator("#plan-map .svc-area").count()) > 0, "service areas are drawn");
  assert.match(await page.locator("#plan-map .leaflet-control-attribution").innerText(), /OpenStreetMap/);
  if (existsSync(join(root, "web/dist/tiles/index.json"))) {
    // The base map of `make tiles` is drawn under the runs.
    await page.waitForSelector("#plan-map[data-base]", { timeout: 20000 });
  }
  const status = one(`select status from ride_request where ride_request_id = '${outbound}'`);
  assert.ok(["planned", "confirmed", "requested"].includes(status), status);
  await accessible("planning");
  await shot("planning");

  // The day at a glance shows the same plan, and the request.
  await page.goto(`${svc.base}/console/?date=${tomorrow()}`);
  await page.waitForSelector("#day-map[data-runs]", { timeout: 20000 });
  assert.equal(await page.locator("#day-map path.run-line").count(), runs);
  // "Updated at" is Rome time like the rest of the page, whatever the browser's zone (UTC here).
  const stamp = /(\d\d):(\d\d):\d\d/.exec(await page.locator("#map-status").innerText());
  assert.ok(stamp, "the map says when it was updated");
  const rome = one("select to_char(now() at time zone 'Europe/Rome', 'HH24:MI')").split(":");
  const apart = Math.abs(Number(stamp[1]) * 60 + Number(stamp[2]) - (Number(rome[0]) * 60 + Number(rome[1])));
  assert.ok(Math.min(apart, 1440 - apart) <= 1, `updated at ${stamp[0]}, Rome time ${rome.join(":")}`);
  assert.equal(await page.locator(`tr[data-request-id="${outbound}"]`).count(), 1);
  await accessible("day");
  await shot("day");
  // The README's copy is refreshed on request only, so a test run leaves the tree clean.
  if (process.env.PASSAGGIO_UPDATE_DOCS_SCREENSHOTS) {
    mkdirSync(join(root, "docs/screenshots/console"), { recursive: true });
    copyFileSync(join(shots, "day.png"), join(root, "docs/screenshots/console/day.png"));
  }
});

/** An empty on-demand run of `day` (start and end at the Foggia depot), another van to move to. */
function emptyRun(url, day, driver, from = "08:00", to = "08:05") {
  const [[vehicleId]] = sql(
    url,
    `insert into vehicle (region_code, label, seats, wheelchair_places, operator, depot_name, depot,
        cost_per_km_cents, cost_per_hour_cents)
     values ('puglia', 'FG-SPARE', 8, 1, 'Test', 'Deposito Foggia',
             st_setsrid(st_makepoint(15.56, 41.47), 4326)::geography, 45, 2200) returning vehicle_id`,
  );
  const [[runId]] = sql(
    url,
    `insert into run (region_code, service_date, vehicle_id, driver_id)
     select 'puglia', '${day}', '${vehicleId}', d.driver_id from driver d join staff s using (staff_id)
     where s.username = '${driver}' returning run_id`,
  );
  for (const [seq, kind, t] of [[0, "start", from], [1, "end", to]]) {
    sql(
      url,
      `insert into run_stop (region_code, run_id, seq, kind, location, planned_arrival, planned_departure)
       values ('puglia', '${runId}', ${seq}, '${kind}', st_setsrid(st_makepoint(15.56, 41.47), 4326)::geography,
               ('${day}'::date + time '${t}') at time zone 'Europe/Rome', ('${day}'::date + time '${t}') at time zone 'Europe/Rome')`,
    );
  }
  return runId;
}

test("the coordinator moves a request of today to another run and sees the feasibility answer", async (t) => {
  // Moves are answered by live insertion on today's runs, so this test's times follow the
  // clock, and on-demand vans work 05:00-22:00 in Rome: late in the evening or at night no
  // ride of today can be moved any more. (tests/dispatch_day.rs checks the same rule at a fixed
  // time of day.)
  const open = one("select (now() at time zone 'Europe/Rome')::time between time '05:00' and time '20:15'");
  if (open !== "t") {
    t.skip("outside 05:00-20:15 in Rome no ride of today is left to move");
    return;
  }
  // A rider on one van, a spare van; the drivers work until midnight (the default shift ends at
  // 22:00, which an evening run of this test would pass), and get their shifts back after it,
  // whatever its outcome.
  const shifts = sql(
    db.url,
    `select d.driver_id, d.shift_start, d.shift_end from driver d join staff s using (staff_id)
     where s.username in ('driver.marco', 'driver.giulia')`,
  );
  t.after(() => {
    for (const [driverId, start, end] of shifts) {
      sql(db.url, `update driver set shift_start = '${start}', shift_end = '${end}' where driver_id = '${driverId}'`);
    }
  });
  sql(db.url, `update driver set shift_start = '00:00', shift_end = '23:59:59' where driver_id in (${shifts.map((r) => `'${r[0]}'`).join(",")})`);
  const soon = (mins) => one(`select to_char((now() at time zone 'Europe/Rome') + interval '${mins} minutes', 'HH24:MI')`);
  const fx = makeRun(db.url, "driver.marco", [{ known_as: person, from: BORGO, to: ASL }], { start: soon(45) });
  const moving = fx.requests[0];
  const spare = emptyRun(db.url, fx.day, "driver.giulia", soon(5), soon(10));
  await page.goto(`${svc.base}/console/requests/${moving}`);
  await page.selectOption("#run_id", spare);
  await Promise.all([page.waitForURL(/outcome=/), page.click("form[action$='/move'] button")]);
  const outcome = await page.locator("[data-outcome]").getAttribute("data-outcome");
  const runNow = one(`select coalesce(run_id::text, '') from ride_request where ride_request_id = '${moving}'`);
  assert.equal(outcome, "moved", plain(await page.locator("[data-outcome]").innerText()));
  assert.equal(runNow, spare, "moved onto the chosen run");
  const pickup = one(
    `select to_char(promised_pickup_at at time zone 'Europe/Rome', 'HH24:MI') from ride_request where ride_request_id = '${moving}'`,
  );
  assert.match(plain(await page.locator("[data-outcome]").innerText()), new RegExp(pickup), "the new pickup time is shown");
  await accessible("moved");
  await shot("move");

  // A request of another day is not moved live: the answer says so.
  await page.goto(`${svc.base}/console/requests/${outbound}`);
  assert.equal(await page.locator("form[action$='/move']").count(), 0, "no live move for another day");
});

test("the coordinator corrects a mistaken no-show and the ledger follows by new entries", async () => {
  sql(db.url, "update programme_config set no_show_wait_seconds = 60, no_show_charge_cents = 200");
  const fx = makeRun(db.url, "driver.marco", [{ known_as: "Mamadou", from: BORGO, to: ASL }]);
  const request = fx.requests[0];
  const token = await login(svc.base, "driver.marco");
  const manifest = await (await fetch(`${svc.base}/driver/api/runs/${fx.runId}`, { headers: { authorization: `Bearer ${token}` } })).json();
  const stopKey = manifest.stops.find((s) => s.kind === "pickup").stop_key;
  const now = Date.now();
  const ev = (kind, ms) => ({ client_event_id: crypto.randomUUID(), kind, stop_key: stopKey, occurred_at: new Date(ms).toISOString() });
  const r = await fetch(`${svc.base}/driver/api/runs/${fx.runId}/events`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ events: [ev("arrived", now - 5 * 60000), ev("no_show", now - 60000)] }),
  });
  const answer = await r.text();
  assert.equal(r.status, 200, answer);
  assert.equal(one(`select status from ride_request where ride_request_id = '${request}'`), "no_show", answer);
  const mamadou = one(
    `select c.case_id from care_case c join person p using (region_code, person_id) where p.known_as = 'Mamadou'`,
  );
  const ledgerBefore = sql(db.url, "select ledger_entry_id, amount_cents from ledger_entry order by 1").map((r) => r.join(":"));
  await page.goto(`${svc.base}/console/people/${mamadou}`);
  assert.equal(await page.locator("[data-figure=missed]").innerText(), "1");
  const spentBefore = Number(await page.locator("tr[data-area=social_health] td[data-spent]").getAttribute("data-spent"));

  await page.goto(`${svc.base}/console/requests/${request}`);
  await accessible("no-show");
  await page.fill("#noshow-reason", "L'autista ha segnato la persona sbagliata");
  await shot("no-show");
  await Promise.all([page.waitForURL(/outcome=corrected/), page.click("form[action$='/no-show-correction'] button")]);
  assert.match(plain(await page.locator(".history").innerText()), /persona sbagliata/);
  const [[by, reason]] = sql(
    db.url,
    `select s.username, c.reason from no_show_correction c join staff s on s.staff_id = c.corrected_by
     where c.ride_request_id = '${request}'`,
  );
  assert.deepEqual([by, reason], ["coord.foggia", "L'autista ha segnato la persona sbagliata"]);
  // Nothing of the ledger changed; two entries were added: the refund and the new charge.
  const ledgerAfter = sql(db.url, "select ledger_entry_id, amount_cents from ledger_entry order by 1").map((r) => r.join(":"));
  assert.deepEqual(ledgerAfter.slice(0, ledgerBefore.length), ledgerBefore, "old entries untouched");
  assert.equal(ledgerAfter.length, ledgerBefore.length + 2);
  const cost = Number(one(`select cost_cents from ride where ride_request_id = '${request}'`));
  await page.goto(`${svc.base}/console/people/${mamadou}`);
  assert.equal(await page.locator("[data-figure=missed]").innerText(), "0");
  assert.equal(await page.locator("[data-figure=taken]").innerText(), "1");
  const spentAfter = Number(await page.locator("tr[data-area=social_health] td[data-spent]").getAttribute("data-spent"));
  assert.equal(spentAfter, spentBefore - 200 + cost, "the budget shown follows the ledger");
  assert.ok(await page.locator("svg.budget-chart rect").count() >= 2, "the chart is drawn");
  await accessible("mobility");
  await shot("mobility", true);
});

test("a coordinator of another Polo cannot find or open that person: search, list, typed URL", async () => {
  await signOut();
  await signIn("coord.sansevero");
  for (const q of [person, caseCode]) {
    await page.goto(`${svc.base}/console/book?q=${encodeURIComponent(q)}`);
    assert.equal(await page.locator(".found a").count(), 0, `search ${q}`);
    assert.ok(await page.locator(".not-found").isVisible());
  }
  await page.goto(`${svc.base}/console/?date=${tomorrow()}`);
  assert.equal(await page.locator(`tr[data-request-id="${outbound}"]`).count(), 0, "not in the day's list");
  assert.equal(await page.getByText(person).count(), 0);
  for (const path of [`/console/people/${caseId}`, `/console/requests/${outbound}`]) {
    const res = await page.goto(`${svc.base}${path}`);
    assert.equal(res.status(), 404, path);
    assert.equal(await page.getByText(person).count(), 0);
  }
  await accessible("not found");
  const post = await page.evaluate(
    async (id) =>
      (await fetch(`/console/requests/${id}/cancel`, { method: "POST", body: new URLSearchParams({ reason: "x" }) })).status,
    outbound,
  );
  assert.equal(post, 404, "nor change it");
  assert.equal(one(`select status from ride_request where ride_request_id = '${outbound}'`) === "cancelled", false);
  // Cases read by the other coordinator: none of Foggia's in the audit.
  const audited = one(
    `select count(*) from case_access_audit a join staff s using (staff_id) join care_case c using (case_id)
     where s.username = 'coord.sansevero' and c.polo_id <> s.polo_id`,
  );
  assert.equal(audited, "0");
});

test("the fleet page lists the region's lines; a line gets heat-ordinance times and a marked day", async () => {
  await signOut();
  await signIn("coord.foggia");
  await page.goto(`${svc.base}/console/fleet`);
  assert.ok((await page.locator("table").first().locator("tbody tr").count()) > 0);
  await accessible("fleet");
  await shot("fleet");
  await Promise.all([page.waitForURL(/\/console\/lines\//), page.locator("table").first().locator("a").first().click()]);
  const lineId = page.url().split("/console/lines/")[1];
  const normal = sql(db.url, `select to_char(stop_time, 'HH24:MI') from work_line_stop where line_id = '${lineId}' order by seq`).map((r) => r[0]);
  // An hour earlier at every stop.
  const earlier = normal.map((t) => {
    const [h, m] = t.split(":").map(Number);
    return `${String(h - 1).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
  });
  for (const [i, t] of earlier.entries()) await page.fill(`#t${i}`, t);
  await Promise.all([page.waitForURL(/saved=heat/), page.click("form[action$='/heat-timetable'] button")]);
  const stored = sql(db.url, `select to_char(heat_stop_time, 'HH24:MI') from work_line_stop where line_id = '${lineId}' order by seq`).map((r) => r[0]);
  assert.deepEqual(stored, earlier);
  const day = one("select ((now() at time zone 'Europe/Rome')::date + 9)::text");
  await page.fill("#heat-date", day);
  await Promise.all([page.waitForURL(/saved=day/), page.click("form.filters[action$='/heat-days'] button")]);
  assert.match(await page.locator("[data-heat-days]").innerText(), new RegExp(day));
  assert.equal(one(`select count(*) from line_heat_day where line_id = '${lineId}' and service_date = '${day}'`), "1");
  // A person of the Polo is subscribed from today to the end of the season.
  const chosen = await page.locator("#sub-case").inputValue();
  const before = Number(one(`select count(*) from line_subscription where line_id = '${lineId}' and case_id = '${chosen}'`));
  await Promise.all([page.waitForURL(/saved=|error=/), page.click("form[action$='/subscriptions'] button")]);
  if (page.url().includes("error=")) {
    // Already on the line for these days: refused, and the page says why.
    assert.match(await page.locator("[role=alert]").innerText(), /already has subscription/);
  } else {
    assert.equal(Number(one(`select count(*) from line_subscription where line_id = '${lineId}' and case_id = '${chosen}'`)), before + 1);
    assert.equal(await page.locator(`#subs-title ~ table a[href="/console/people/${chosen}"]`).count() >= 1, true);
  }
  await accessible("line");
  await shot("line", true);
});
