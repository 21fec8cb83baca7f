// The workers' confidential reports in the coordinator console (issue #14, item 6), in Debian's
// chromium at desktop size against the real service: two reports sent through the workers'
// API with a card (one named, one anonymous) reach the Foggia coordinator's list, which names
// only the named one; the coordinator sets a status; a case worker of the Polo and the
// coordinator of another Polo see none of it. axe-core on the page; a screenshot.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { freshDatabase, launch, login, root, screenshots, seriousViolations, sql, startService } from "./harness.mjs";

let db;
let svc;
let ctx;
let page;

before(async () => {
  db = freshDatabase("console_reports");
  svc = await startService(db.url);
  ctx = await launch(join(root, ".local/chromium/console-reports"), {
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

async function api(method, path, token, body, headers = {}) {
  const r = await fetch(`${svc.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

async function signIn(username) {
  await ctx.clearCookies();
  await ctx.addCookies([{ name: "lang", value: "it", url: svc.base }]);
  await page.goto(`${svc.base}/console/login`);
  await page.fill("#username", username);
  await page.fill("#password", "passaggio-demo");
  await Promise.all([page.waitForURL(`${svc.base}/console/`), page.click("form[action='/console/login'] button")]);
}

test("a worker's reports reach the coordinator's console list, named or anonymous, and get a status", async () => {
  const [[caseId, name]] = sql(
    db.url,
    `select c.case_id, p.known_as from care_case c join person p using (region_code, person_id)
     join polo on polo.polo_id = c.polo_id
     where polo.name = 'Polo Sociale Integrato Foggia' and c.status = 'open' order by c.opened_on, c.case_id limit 1`,
  );
  const cw = await login(svc.base, "cw.foggia");
  const card = await api("POST", `/api/cases/${caseId}/access-card`, cw, { language: "it" });
  assert.equal(card.status, 201, JSON.stringify(card.body));
  const signedIn = await api("POST", "/api/self/sign-in", "", { code: card.body.code });
  assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
  const worker = signedIn.body.token;
  const named = await api("POST", "/api/self/reports", worker, { kind: "money", details: "Il caporale chiede 5 euro" }, { "idempotency-key": crypto.randomUUID() });
  const anonymous = await api("POST", "/api/self/reports", worker, { kind: "threat", details: "Minacce al campo", anonymous: true }, { "idempotency-key": crypto.randomUUID() });
  assert.equal(named.status, 201, JSON.stringify(named.body));
  assert.equal(anonymous.status, 201, JSON.stringify(anonymous.body));

  await signIn("coord.foggia");
  await page.click("nav a[href='/console/reports']");
  await page.waitForURL(/\/console\/reports$/);
  const rows = page.locator("#reports tbody tr");
  assert.equal(await rows.count(), 2);
  const money = page.locator("tr", { hasText: "5 euro" });
  const threat = page.locator("tr", { hasText: "Minacce" });
  assert.match(await money.innerText(), new RegExp(name), "a named report names its person");
  assert.match(await threat.innerText(), /anonima/);
  assert.doesNotMatch(await threat.innerText(), new RegExp(name), "an anonymous report names nobody");
  assert.deepEqual(await seriousViolations(page), [], "axe on the reports page");
  mkdirSync(join(screenshots, "console"), { recursive: true });
  await page.screenshot({ path: join(screenshots, "console", "reports.png"), fullPage: true });

  // Followed up: the status is saved and shown.
  await money.locator("select").selectOption("in_progress");
  await Promise.all([page.waitForURL(/\/console\/reports/), money.locator("button").click()]);
  assert.equal(await page.locator("tr", { hasText: "5 euro" }).getAttribute("data-status"), "in_progress");
  assert.equal(sql(db.url, `select status from worker_report where details like '%5 euro%'`)[0][0], "in_progress");
  // The named report's read is audited as case data.
  const audited = sql(db.url, `select count(*) from case_access_audit where case_id = '${caseId}' and purpose = 'worker report'`)[0][0];
  assert.ok(Number(audited) >= 1, "the read of a named report is audited");

  // Nobody else reads them: the Polo's case worker is refused, another Polo's coordinator has none.
  await signIn("cw.foggia");
  const res = await page.goto(`${svc.base}/console/reports`);
  assert.equal(res.status(), 403);
  await signIn("coord.sansevero");
  await page.goto(`${svc.base}/console/reports`);
  assert.equal(await page.locator("#reports").count(), 0);
  assert.ok(await page.locator("#reports-empty").isVisible());
  const [[reportId]] = sql(db.url, `select report_id from worker_report where details like '%5 euro%'`);
  const other = await page.evaluate(async (id) => {
    const body = new URLSearchParams({ status: "closed" });
    return (await fetch(`/console/reports/${id}/status`, { method: "POST", body })).status;
  }, reportId);
  assert.equal(other, 404, "another Polo's coordinator cannot touch the report");
});
