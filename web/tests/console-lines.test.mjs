// Work lines in the coordinator console (issue #14, item 4), in Debian's chromium at desktop
// size against the real service: the Foggia coordinator creates a line with three stops through
// the fleet page's form (a refused form first: one stop only, shown again with its input), sees
// it listed, edits its times and seats on the line's page, and sees refused edits' messages
// (stop times out of order: 422; fewer seats than people subscribed: 409) without losing the
// input. A timetable that leaves the driver no break is flagged on its page until a wait is
// added. axe-core on the fleet and line pages; screenshots.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { BORGO } from "./fixtures.mjs";
import { freshDatabase, launch, login, plain, root, screenshots, seriousViolations, sql, startService } from "./harness.mjs";

const TRICARICO = "Azienda agricola Tricarico (asparagi)";
const RUSSO = "Azienda agricola Russo (pomodoro)";
const NAME = "Linea prova Borgo - Russo";

let db;
let svc;
let ctx;
let page;

before(async () => {
  db = freshDatabase("console_lines");
  svc = await startService(db.url);
  ctx = await launch(join(root, ".local/chromium/console-lines"), {
    viewport: { width: 1280, height: 800 },
    isMobile: false,
    hasTouch: false,
  });
  page = await ctx.newPage();
});

after(async () => {
  await ctx?.close();
  svc?.stop();
  db?.drop();
});

async function signIn(username) {
  await ctx.clearCookies();
  await ctx.addCookies([{ name: "lang", value: "it", url: svc.base }]);
  await page.goto(`${svc.base}/console/login`);
  await page.fill("#username", username);
  await page.fill("#password", "passaggio-demo");
  await Promise.all([page.waitForURL(`${svc.base}/console/`), page.click("form[action='/console/login'] button")]);
}

async function shot(name) {
  mkdirSync(join(screenshots, "console"), { recursive: true });
  await page.screenshot({ path: join(screenshots, "console", name), fullPage: true });
}

test("a coordinator creates a line with three stops, edits its times and seats, and sees refusals", async () => {
  await signIn("coord.foggia");
  await page.goto(`${svc.base}/console/fleet`);
  assert.deepEqual(await seriousViolations(page), [], "axe on the fleet page");
  await shot("lines-fleet.png");

  // One stop only: refused, the form comes back with what was typed.
  await page.fill("#new-line-name", NAME);
  await page.fill("#new-line-start", "2027-01-01");
  await page.fill("#new-line-end", "2027-12-31");
  await page.fill("#new-line-capacity", "6");
  await page.selectOption("#new-line-stop0", { label: BORGO });
  await page.fill("#new-line-time0", "05:00");
  await Promise.all([page.waitForLoadState("load"), page.click("#new-line button[type=submit]")]);
  assert.match(plain(await page.locator("[data-error]").innerText()), /stops/);
  assert.equal(await page.inputValue("#new-line-name"), NAME, "the input is kept");
  assert.equal(await page.inputValue("#new-line-time0"), "05:00");
  assert.equal(sql(db.url, `select count(*) from work_line where name = '${NAME}'`)[0][0], "0");

  // Three stops: created, and the line's page opens.
  await page.selectOption("#new-line-stop1", { label: TRICARICO });
  await page.fill("#new-line-time1", "05:20");
  await page.selectOption("#new-line-stop2", { label: RUSSO });
  await page.fill("#new-line-time2", "05:50");
  await Promise.all([page.waitForURL(/\/console\/lines\/[0-9a-f-]+\?saved=created/), page.click("#new-line button[type=submit]")]);
  const lineId = page.url().match(/lines\/([0-9a-f-]+)/)[1];
  const [[capacity, days]] = sql(db.url, `select capacity, operating_days::text from work_line where line_id = '${lineId}'`);
  assert.equal(capacity, "6");
  assert.equal(days, "{1,2,3,4,5}");
  const times = sql(db.url, `select to_char(stop_time, 'HH24:MI') from work_line_stop where line_id = '${lineId}' order by seq`).map((r) => r[0]);
  assert.deepEqual(times, ["05:00", "05:20", "05:50"]);

  // Listed on the fleet page.
  await page.goto(`${svc.base}/console/fleet`);
  assert.equal(await page.locator(`a[href='/console/lines/${lineId}']`).innerText(), NAME);

  // Edited: new times and fewer seats.
  await page.goto(`${svc.base}/console/lines/${lineId}`);
  assert.equal(await page.inputValue("#edit-line-time2"), "05:50");
  await page.fill("#edit-line-time0", "05:10");
  await page.fill("#edit-line-time2", "06:00");
  await page.fill("#edit-line-capacity", "4");
  await Promise.all([page.waitForURL(/saved=edited/), page.click("#edit-line button[type=submit]")]);
  const after = sql(db.url, `select to_char(stop_time, 'HH24:MI') from work_line_stop where line_id = '${lineId}' order by seq`).map((r) => r[0]);
  assert.deepEqual(after, ["05:10", "05:20", "06:00"]);
  assert.equal(sql(db.url, `select capacity from work_line where line_id = '${lineId}'`)[0][0], "4");
  assert.equal(await page.inputValue("#edit-line-capacity"), "4");

  // Times out of order: 422, the message and the typed times stay.
  await page.fill("#edit-line-time1", "05:05");
  await Promise.all([page.waitForLoadState("load"), page.click("#edit-line button[type=submit]")]);
  assert.match(plain(await page.locator("[data-error]").innerText()), /stops\.1\.stop_time/);
  assert.equal(await page.inputValue("#edit-line-time1"), "05:05");
  assert.equal(sql(db.url, `select to_char(stop_time, 'HH24:MI') from work_line_stop where line_id = '${lineId}' and seq = 1`)[0][0], "05:20");

  // Two people subscribed: one seat is too few (409).
  const coord = await login(svc.base, "coord.foggia");
  const cases = sql(
    db.url,
    `select c.case_id from care_case c join polo on polo.polo_id = c.polo_id
     where polo.name = 'Polo Sociale Integrato Foggia' and c.status = 'open' order by c.opened_on, c.case_id limit 2`,
  ).map((r) => r[0]);
  for (const caseId of cases) {
    const r = await fetch(`${svc.base}/api/lines/${lineId}/subscriptions`, {
      method: "POST",
      headers: { authorization: `Bearer ${coord}`, "content-type": "application/json" },
      body: JSON.stringify({ case_id: caseId, board_seq: 0, alight_seq: 2, valid_from: "2027-06-01", valid_to: "2027-06-30" }),
    });
    assert.equal(r.status, 201, await r.text());
  }
  await page.goto(`${svc.base}/console/lines/${lineId}`);
  await page.fill("#edit-line-capacity", "1");
  const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/edit")), page.click("#edit-line button[type=submit]")]);
  assert.equal(res.status(), 409);
  await page.waitForLoadState("load");
  assert.match(plain(await page.locator("[data-error]").innerText()), /capacity/);
  assert.equal(await page.inputValue("#edit-line-capacity"), "1");
  assert.equal(sql(db.url, `select capacity from work_line where line_id = '${lineId}'`)[0][0], "4");
  assert.deepEqual(await seriousViolations(page), [], "axe on the line page with a refused edit");
  await shot("lines-line-edit-refused.png");
});

test("a timetable that leaves the driver no break is flagged on the line's page until a wait is added", async () => {
  const admin = await login(svc.base, "admin");
  const placeId = (name) => sql(db.url, `select place_id from place where name = '${name}'`)[0][0];
  const places = [placeId(BORGO), placeId(TRICARICO), placeId(RUSSO)];
  // A round of the farms from 05:00 to 11:00, a stop every 40 minutes: never 45 minutes between two.
  const hhmm = (m) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
  const stops = Array.from({ length: 10 }, (_, i) => ({ place_id: places[i % 3], stop_time: hhmm(300 + 40 * i) }));
  const r = await fetch(`${svc.base}/api/lines`, {
    method: "POST",
    headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
    body: JSON.stringify({
      name: "Giro delle aziende",
      region_code: "puglia",
      season_start: "2027-01-01",
      season_end: "2027-12-31",
      operating_days: [1, 2, 3, 4, 5],
      capacity: 8,
      stops,
    }),
  });
  const line = await r.json();
  assert.equal(r.status, 201, JSON.stringify(line));
  assert.equal(line.breaks_fit, false);

  await signIn("coord.foggia");
  await page.goto(`${svc.base}/console/lines/${line.line_id}`);
  const warning = page.locator("[data-no-break]");
  assert.match(plain(await warning.innerText()), /4 h 30/);
  assert.deepEqual(await seriousViolations(page), [], "axe on the line page with the break warning");
  await shot("lines-line-no-break.png");

  // The coordinator makes the van wait from 07:00 to 07:50 (later stops 10 minutes later): the warning goes.
  for (let i = 4; i < 10; i++) await page.fill(`#edit-line-time${i}`, hhmm(300 + 40 * i + 10));
  await Promise.all([page.waitForURL(/saved=edited/), page.click("#edit-line button[type=submit]")]);
  assert.equal(await page.locator("[data-no-break]").count(), 0);
  const times = sql(db.url, `select to_char(stop_time, 'HH24:MI') from work_line_stop where line_id = '${line.line_id}' order by seq`).map((x) => x[0]);
  assert.deepEqual(times.slice(3, 5), ["07:00", "07:50"]);
});
