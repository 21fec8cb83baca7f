// The workers' pages (/w/) in a real browser (Debian's chromium, playwright-core) against the
// real service and a real PostGIS database: a case worker issues access cards through the API;
// a worker signs in with the card's one-tap link, books a ride in Arabic (the page is right to
// left and its layout mirrored), sees it and cancels it; books and subscribes to a work line in
// Italian; a double submit makes one booking; the expected pickup time follows the run; a
// revoked card is refused; another person's ride is a 404; a report reaches the coordinator's
// list; 50 wrong codes from one client are refused; axe finds no serious violation on any page
// in any of the four languages; phone-size screenshots go to .local/screenshots/worker/.
import assert from "node:assert/strict";
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ASL, BORGO, makeRun } from "./fixtures.mjs";
import { freshDatabase, launch, login, plain, screenshots, seriousViolations, sql, startService } from "./harness.mjs";

const shots = join(screenshots, "worker");
const LANGS = ["it", "en", "fr", "ar"];
let db;
let service;
let ctx;
let page;
let cw;
let coord;
const profile = join(tmpdir(), `passaggio-worker-profile-${process.pid}`);
// People of the Foggia Polo: [case_id, known_as], oldest case first.
let people;

before(async () => {
  rmSync(shots, { recursive: true, force: true });
  mkdirSync(shots, { recursive: true });
  db = freshDatabase("worker_browser");
  service = await startService(db.url);
  cw = await login(service.base, "cw.foggia");
  coord = await login(service.base, "coord.foggia");
  people = sql(
    db.url,
    `select c.case_id, p.known_as from care_case c join person p using (region_code, person_id)
     join polo on polo.polo_id = c.polo_id where polo.name = 'Polo Sociale Integrato Foggia' and c.status = 'open'
     order by c.opened_on, c.case_id`,
  );
  // The browser's language is Arabic: the first visit is negotiated from it.
  ctx = await launch(profile, { locale: "ar-MA" });
  page = ctx.pages()[0] ?? (await ctx.newPage());
});

after(async () => {
  await ctx?.close().catch(() => {});
  service?.stop();
  if (!process.env.PASSAGGIO_TEST_KEEP_DB) db?.drop();
  rmSync(profile, { recursive: true, force: true });
});

async function api(method, path, token, body) {
  const r = await fetch(`${service.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

/** A card issued by the case worker for the case `caseId`. */
async function issue(caseId, language) {
  const r = await api("POST", `/api/cases/${caseId}/access-card`, cw, { language });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

async function setLang(lang) {
  await ctx.addCookies([{ name: "lang", value: lang, url: service.base }]);
}

async function noSerious(label) {
  assert.deepEqual(await seriousViolations(page), [], `axe on ${label}`);
}

/** Axe on the page at `path` in every language; a screenshot in Italian and Arabic. */
async function everyLanguage(name, path, { status = 200, setContent } = {}) {
  for (const lang of LANGS) {
    await setLang(lang);
    const res = await page.goto(`${service.base}${path}`);
    assert.equal(res.status(), status, `${path} in ${lang}`);
    assert.equal((await res.allHeaders())["cache-control"], "no-store", `${path} is never cached`);
    if (setContent) await page.setContent(setContent(lang));
    assert.equal(await page.getAttribute("html", "lang"), lang);
    assert.equal(await page.getAttribute("html", "dir"), lang === "ar" ? "rtl" : "ltr");
    await noSerious(`${name} (${lang})`);
    if (lang === "it" || lang === "ar") {
      await page.screenshot({ path: join(shots, `${name}-${lang}.png`), fullPage: true });
    }
  }
}

const text = async (sel) => plain(await page.locator(sel).innerText());

let arCard;
let arRide;
let itCard;

test("the language is negotiated from the browser, then chosen by its own name and remembered", async () => {
  const res = await page.goto(`${service.base}/w/sign-in`);
  assert.equal(res.status(), 200);
  assert.equal(await page.getAttribute("html", "lang"), "ar");
  assert.equal(await page.getAttribute("html", "dir"), "rtl");
  // The chooser names each language in itself.
  const names = await page.locator("#lang-select option").allInnerTexts();
  for (const n of ["Italiano", "English", "Français", "العربية"]) assert.ok(names.includes(n), names.join());
  await page.selectOption("#lang-select", "it");
  await Promise.all([page.waitForURL(/\/w\/sign-in/), page.locator(".lang-chooser button").click()]);
  assert.equal(await page.getAttribute("html", "lang"), "it");
  await page.goto(`${service.base}/w/sign-in`);
  assert.equal(await page.getAttribute("html", "lang"), "it", "remembered");
});

test("a worker signs in with the card a case worker issued, and books, sees and cancels a ride in Arabic", async () => {
  arCard = await issue(people[1][0], "ar");
  await setLang("ar");
  // The one-tap link of the card's QR code.
  await page.goto(arCard.sign_in_url.replace(/^https?:\/\/[^/]+/, service.base));
  assert.ok(page.url().endsWith("/w/"), page.url());
  const cookie = (await ctx.cookies()).find((c) => c.name === "passaggio_worker");
  assert.ok(cookie?.httpOnly && cookie.sameSite === "Lax", JSON.stringify(cookie));
  assert.equal(await page.getAttribute("html", "dir"), "rtl");
  assert.match(await text("h1"), new RegExp(people[1][1]));
  assert.equal(await text("#free"), "هذه الرحلة مجانية. لا تدفع لأحد أبدًا مقابلها.");
  // Mirrored, not just the attribute: the pictogram is to the right of its label and the
  // text starts at the right edge.
  const link = page.locator("#go-book");
  const icon = await link.locator("img").boundingBox();
  const label = await link.locator("span").boundingBox();
  assert.ok(icon.x > label.x, `pictogram right of its label in Arabic: ${icon.x} vs ${label.x}`);
  const h1 = await page.locator("h1").evaluate((e) => {
    const r = document.createRange();
    r.selectNodeContents(e);
    const t = r.getBoundingClientRect();
    return { right: e.getBoundingClientRect().right - t.right, left: t.left - e.getBoundingClientRect().left };
  });
  assert.ok(h1.right < h1.left, `heading text flush right: ${JSON.stringify(h1)}`);

  await page.click("#go-book");
  await page.click("#to-work");
  assert.equal(await page.getAttribute("#day", "dir"), "ltr");
  await page.selectOption("#time", "06:30");
  await page.click("#book");
  await page.waitForURL(/\/w\/rides\/[0-9a-f-]+\?outcome=booked/);
  assert.match(await text("#outcome"), /تم الحجز/);
  assert.match(await text("#free"), /مجانية/);
  arRide = page.url().match(/rides\/([0-9a-f-]+)/)[1];
  const [[channel, bookedBy]] = sql(db.url, `select booked_channel, coalesce(booked_by::text, '-') from ride_request where ride_request_id = '${arRide}'`);
  assert.deepEqual([channel, bookedBy], ["self", "-"]);

  await page.goto(`${service.base}/w/rides`);
  assert.equal(await page.locator(`[data-ride="${arRide}"]`).count(), 1);
  assert.match(await text(`[data-ride="${arRide}"]`), /Azienda|Magazzino/);
  assert.match(await text("#count"), /رحلة واحدة محجوزة/, "Arabic plural: one");
  await page.goto(`${service.base}/w/rides/${arRide}`);
  await page.click("#cancel");
  await page.waitForURL(/cancelled=1/);
  assert.match(await text("#ride"), /ملغاة/);
  assert.equal(sql(db.url, `select status from ride_request where ride_request_id = '${arRide}'`)[0][0], "cancelled");
  await page.goto(`${service.base}/w/rides`);
  assert.equal(await page.locator(`[data-ride="${arRide}"]`).count(), 0);
});

test("in Italian: a double submit books once, the way back too, and a work line is subscribed", async () => {
  await setLang("it");
  await page.goto(`${service.base}/w/book?to=polo`);
  await page.selectOption("#time", "10:00");
  await page.selectOption("#return_at", "12:30");
  const key = await page.inputValue("input[name=idempotency_key]");
  // Two posts of the same form at once (a double tap), then the form itself.
  const statuses = await page.evaluate(async () => {
    const form = document.querySelector("form[action='/w/book']");
    const body = new URLSearchParams(new FormData(form));
    const post = () => fetch("/w/book", { method: "POST", body, redirect: "manual" }).then((r) => r.type);
    return Promise.all([post(), post()]);
  });
  assert.equal(statuses.length, 2);
  await page.click("#book");
  await page.waitForURL(/\/w\/rides\/[0-9a-f-]+\?outcome=/);
  assert.match(await text("#outcome"), /Prenotata/);
  const rows = sql(db.url, `select count(*) from ride_request where idempotency_key in ('${key}', '${key}:return')`);
  assert.equal(rows[0][0], "2", "one ride there and one back, whatever the number of submits");

  await page.goto(`${service.base}/w/lines`);
  const offer = page.locator("form[data-line]").first();
  assert.equal(await page.locator("form[data-line]").count() > 0, true, "the demo season's lines are offered");
  await offer.locator("input[value=days]").check();
  await offer.locator("button[type=submit]").click();
  await page.waitForURL(/done=subscribed/);
  assert.match(await text("#outcome"), /Sei iscritto/);
  assert.equal(await page.locator("[data-subscription]").count(), 1);
  const [[createdBy, status]] = sql(
    db.url,
    `select coalesce(created_by::text, '-'), status from line_subscription where case_id = '${people[1][0]}'`,
  );
  assert.deepEqual([createdBy, status], ["-", "active"]);
});

test("the expected pickup time on the day follows the run's planned times", async () => {
  const run = makeRun(db.url, "driver.marco", [{ known_as: people[1][1], from: BORGO, to: ASL }]);
  const ride = run.requests[0];
  await page.goto(`${service.base}/w/rides/${ride}`);
  assert.match(await text(`#expected-${ride}`), /07:10/);
  // The page of a ride today refreshes itself (no script needed).
  assert.equal(await page.getAttribute("meta[http-equiv=refresh]", "content"), "60");
  // The run is re-timed: the page says the new time (from the plan, not from any position).
  sql(db.url, `update run_stop set planned_arrival = planned_arrival + interval '25 minutes' where ride_request_id = '${ride}' and kind = 'pickup'`);
  await page.reload();
  assert.match(await text(`#expected-${ride}`), /07:35/);
});

test("a post from another site is refused", async () => {
  const res = await page.request.post(`${service.base}/w/report`, {
    headers: { origin: "http://evil.example" },
    form: { idempotency_key: "x", kind: "money" },
  });
  assert.equal(res.status(), 403);
  assert.equal(sql(db.url, "select count(*) from worker_report")[0][0], "0");
});

test("another person's ride is not found", async () => {
  const other = makeRun(db.url, "driver.giulia", [{ known_as: people[2][1], from: BORGO, to: ASL }]);
  const res = await page.goto(`${service.base}/w/rides/${other.requests[0]}`);
  assert.equal(res.status(), 404);
  const res2 = await page.request.post(`${service.base}/w/rides/${other.requests[0]}/cancel`, {
    headers: { origin: service.base },
  });
  assert.equal(res2.status(), 404);
  assert.equal(sql(db.url, `select status from ride_request where ride_request_id = '${other.requests[0]}'`)[0][0], "confirmed");
});

test("a report reaches the coordinator's list, confidential", async () => {
  await page.goto(`${service.base}/w/report`);
  await page.check("input[name=kind][value=documents]");
  await page.fill("#details", "un uomo al bivio ha chiesto il mio permesso di soggiorno");
  await page.click("#send");
  await page.waitForURL(/sent=1/);
  assert.match(await text("#outcome"), /ricevuta/);
  const list = await api("GET", "/api/worker-reports", coord);
  assert.equal(list.status, 200);
  const mine = list.body.find((r) => r.details?.includes("permesso di soggiorno"));
  assert.ok(mine, JSON.stringify(list.body));
  assert.equal(mine.kind, "documents");
  assert.equal(mine.case_id, people[1][0]);
  assert.equal((await api("GET", "/api/worker-reports", cw)).status, 403);
});

test("every page passes axe in the four languages, with screenshots in Italian and Arabic", async () => {
  // A ride to show: booked for tomorrow through the API with the same session's card.
  itCard = await issue(people[3][0], "it");
  await page.goto(itCard.sign_in_url.replace(/^https?:\/\/[^/]+/, service.base));
  await setLang("it");
  await page.goto(`${service.base}/w/book?to=work`);
  await page.selectOption("#time", "07:00");
  await page.click("#book");
  await page.waitForURL(/\/w\/rides\/[0-9a-f-]+/);
  const ride = page.url().match(/rides\/([0-9a-f-]+)/)[1];
  await everyLanguage("home", "/w/");
  await everyLanguage("book", "/w/book");
  await everyLanguage("book-work", "/w/book?to=work");
  await everyLanguage("book-appointment", "/w/book?to=appointment");
  await everyLanguage("rides", "/w/rides");
  await everyLanguage("ride", `/w/rides/${ride}?outcome=booked`);
  // A refusal as the page shows it (the refusal itself is made by the dispatcher in the Rust
  // tests): what went wrong, and what the person can do instead.
  const [[refused]] = sql(
    db.url,
    `insert into ride_request (region_code, case_id, person_id, purpose, service_date, pickup_place_id,
        pickup_meeting_point_id, pickup_location, dropoff_place_id, dropoff_location, latest_arrival,
        status, booked_channel)
     select region_code, case_id, person_id, purpose, service_date + 1, pickup_place_id,
        pickup_meeting_point_id, pickup_location, dropoff_place_id, dropoff_location, latest_arrival + interval '1 day',
        'refused', 'self' from ride_request where ride_request_id = '${ride}' returning ride_request_id`,
  );
  await everyLanguage("ride-refused", `/w/rides/${refused}?to=work&when=arrive`);
  await setLang("it");
  await page.goto(`${service.base}/w/rides/${refused}?to=work&when=arrive`);
  assert.match(await text("#outcome"), /Nessun mezzo/);
  assert.match(await text("#alternatives"), /prenotare alle 06:00/);
  await page.click("#alternatives a[href*='time=08:00']");
  assert.equal(await page.inputValue("#time"), "08:00", "the other time, ready to book");
  await everyLanguage("lines", "/w/lines");
  await everyLanguage("report", "/w/report");
  await everyLanguage("not-found", "/w/rides/00000000-0000-0000-0000-000000000000", { status: 404 });
  const cards = {};
  for (const lang of LANGS) cards[lang] = await issue(people[0][0], lang);
  await everyLanguage("card", "/w/sign-in", { setContent: (lang) => cards[lang].card_html });
  // Signed out last: the session ends, the cookie goes, the browser is told to clear the site.
  await setLang("it");
  await page.goto(`${service.base}/w/`);
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith("/w/sign-out")),
    page.click("form[action='/w/sign-out'] button"),
  ]);
  assert.equal((await res.allHeaders())["clear-site-data"], '"cache", "cookies", "storage"');
  await page.waitForURL(/sign-in\?out=1/);
  assert.ok(!(await ctx.cookies()).some((c) => c.name === "passaggio_worker"), "no session cookie left");
  const home = await page.goto(`${service.base}/w/rides`);
  assert.ok(home.url().endsWith("/w/sign-in"), "signed out: back to sign-in");
  await everyLanguage("sign-in", "/w/sign-in?out=1");
});

test("the driver app, in a language whose file has only the workers' messages, falls back to Italian", async () => {
  // The browser speaks Arabic (ar.ftl has no driver- messages yet).
  const p = await ctx.newPage();
  await p.goto(`${service.base}/driver/`);
  await p.waitForSelector("h1");
  assert.equal(await p.getAttribute("html", "lang"), "ar");
  assert.equal(await p.getAttribute("html", "dir"), "rtl");
  assert.equal(plain(await p.locator("h1").innerText()), "Accesso autisti");
  assert.ok(!(await p.locator("body").innerText()).includes("driver-"), "no message id shown");
  await p.close();
});

test("a card with a PIN: the one-tap link asks for it, a wrong PIN is refused like a wrong code", async () => {
  const r = await api("POST", `/api/cases/${people[2][0]}/access-card`, cw, { language: "fr", pin: "2468" });
  assert.equal(r.status, 201);
  await setLang("fr");
  await page.goto(r.body.sign_in_url.replace(/^https?:\/\/[^/]+/, service.base));
  assert.ok(page.url().includes("/w/c/"), "still on the link's page: the PIN is asked");
  assert.equal(await page.inputValue("#code"), r.body.code);
  await page.fill("#pin", "1357");
  await page.click("button[type=submit]");
  assert.match(await text("#error"), /ne marche pas/);
  await page.fill("#code", r.body.code);
  await page.fill("#pin", "2468");
  await page.click("button[type=submit]");
  await page.waitForURL(/\/w\/$/);
  assert.match(await text("h1"), new RegExp(people[2][1]));
  await page.click("form[action='/w/sign-out'] button");
  await page.waitForURL(/sign-in\?out=1/);
});

test("a revoked card is refused", async () => {
  const r = await api("POST", `/api/cases/${people[1][0]}/access-card/revoke`, cw, { reason: "card taken" });
  assert.equal(r.status, 200);
  await setLang("it");
  const res = await page.goto(arCard.sign_in_url.replace(/^https?:\/\/[^/]+/, service.base));
  assert.equal(res.status(), 401);
  assert.match(await text("#error"), /non funziona/);
  assert.ok(!(await ctx.cookies()).some((c) => c.name === "passaggio_worker"));
});

test("50 wrong codes from one client are refused, saying nothing of which codes exist", async () => {
  await page.goto(`${service.base}/w/sign-in`);
  const statuses = await page.evaluate(async () => {
    const out = [];
    for (let i = 0; i < 50; i++) {
      const code = `${"ABCDEFGHJKMNPQRSTW"[i % 18]}${"23456789ABCDEFGHJK"}`.slice(0, 18);
      const r = await fetch("/w/sign-in", { method: "POST", body: new URLSearchParams({ code, pin: "" }) });
      out.push(r.status);
    }
    return out;
  });
  assert.ok(statuses.every((s) => s === 401 || s === 429), statuses.join());
  const limited = statuses.filter((s) => s === 429).length;
  assert.ok(limited >= 25, `refused: ${limited} of 50 (${statuses.join()})`);
  // The form shows the message of the limit.
  await page.fill("#code", itCard.code);
  await page.click("button[type=submit]");
  assert.match(await text("#error"), /Troppi tentativi/);
});
