// The driver app's pure state rules (driver-app/src/state.js) for breaks, without a browser:
// the breaks the driver sees are the manifest's with their own reports laid over them by the
// service's rule, so the screen is right while the reports wait in the outbox.
import assert from "node:assert/strict";
import { test } from "node:test";
import { breaks, nextBreak } from "../../driver-app/src/state.js";

const RUN = "r1";
const manifest = (planned) => ({
  run_id: RUN,
  stops: [
    { stop_key: "k0", seq: 0 },
    { stop_key: "k1", seq: 1 },
    { stop_key: "k2", seq: 2 },
  ],
  breaks: planned,
});
const planned = (after_seq, from, extra = {}) => ({
  after_seq,
  planned_start: from,
  planned_end: new Date(Date.parse(from) + 45 * 60000).toISOString(),
  ...extra,
});
const report = (kind, stop_key, at, extra = {}) => ({ run_id: RUN, kind, stop_key, occurred_at: at, ...extra });

test("a break started early, offline, takes the next planned one to where the van is", () => {
  const m = manifest([planned(2, "2026-11-25T11:00:00Z"), planned(2, "2026-11-25T15:00:00Z")]);
  const seen = breaks(m, [report("break_started", "k1", "2026-11-25T10:00:00Z")]);
  assert.deepEqual(seen[0], { after_seq: 1, from: "2026-11-25T10:00:00Z", to: "2026-11-25T10:45:00.000Z", taken: true, on: true });
  assert.equal(seen[1].taken, false, "the later one stays planned");
  assert.equal(seen.filter((b) => b.on).length, 1);
});

test("the break planned at the van's stop is the one taken; an end closes it; a second start while on is ignored", () => {
  const m = manifest([planned(1, "2026-11-25T09:00:00Z"), planned(2, "2026-11-25T13:00:00Z")]);
  const seen = breaks(m, [
    report("break_started", "k2", "2026-11-25T12:30:00Z"),
    report("break_started", "k2", "2026-11-25T12:31:00Z"),
    report("break_ended", "k2", "2026-11-25T13:20:00Z"),
  ]);
  assert.deepEqual(seen.map((b) => [b.after_seq, b.from, b.to, b.taken, b.on]), [
    [1, "2026-11-25T09:00:00Z", "2026-11-25T09:45:00.000Z", false, false],
    [2, "2026-11-25T12:30:00Z", "2026-11-25T13:20:00Z", true, false],
  ]);
});

test("reports the manifest already shows are not laid over again; withdrawn and other runs' reports count for nothing", () => {
  const m = manifest([
    planned(1, "2026-11-25T09:00:00Z", { started_at: "2026-11-25T09:00:00Z", ended_at: "2026-11-25T09:45:00Z" }),
    planned(2, "2026-11-25T14:00:00Z"),
  ]);
  const seen = breaks(m, [
    report("break_started", "k1", "2026-11-25T09:00:00Z"),
    report("break_ended", "k1", "2026-11-25T09:45:00Z"),
    report("break_started", "k2", "2026-11-25T13:00:00Z", { withdrawn: true }),
    { ...report("break_started", "k2", "2026-11-25T13:00:00Z"), run_id: "other" },
  ]);
  assert.deepEqual(seen.map((b) => [b.taken, b.on]), [[true, false], [false, false]]);
});

test("with no planned break left, a start is an extra break at the van's stop", () => {
  const seen = breaks(manifest([]), [report("break_started", "k0", "2026-11-25T06:00:00Z")]);
  assert.deepEqual(seen, [{ after_seq: 0, from: "2026-11-25T06:00:00Z", to: "2026-11-25T06:45:00.000Z", taken: true, on: true }]);
});

test("the next break is the first not taken that has not ended, due once its planned start has come", () => {
  const m = manifest([
    planned(1, "2026-11-25T09:00:00Z", { started_at: "2026-11-25T09:00:00Z", ended_at: "2026-11-25T09:45:00Z" }),
    planned(1, "2026-11-25T10:00:00Z"),
    planned(2, "2026-11-25T13:00:00Z"),
  ]);
  const shown = breaks(m, []);
  const at = (iso) => Date.parse(iso);
  assert.deepEqual(nextBreak(shown, at("2026-11-25T09:50:00Z")), { ...shown[1], due: false });
  assert.deepEqual(nextBreak(shown, at("2026-11-25T10:05:00Z")), { ...shown[1], due: true });
  assert.deepEqual(nextBreak(shown, at("2026-11-25T11:00:00Z")), { ...shown[2], due: false }, "a break whose time passed untaken is not next");
  assert.equal(nextBreak(shown, at("2026-11-25T14:00:00Z")), null);
});
