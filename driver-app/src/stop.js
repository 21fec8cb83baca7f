// The stop card (the next or the chosen stop, with its actions, timer, navigation links and
// notes) and the list of items the office refused.
import { h } from "./dom.js";
import { has, t, time } from "./i18n.js";
import * as S from "./state.js";

function riderLine(s) {
  const r = s.rider;
  if (!r) return null;
  const bits = [t("driver-passengers", { count: r.passengers })];
  if (r.wheelchair) bits.push(t("driver-wheelchair"));
  if (r.languages?.length) bits.push(t("driver-languages", { languages: r.languages.join(", ") }));
  return h(
    "div",
    { class: "rider" },
    h("p", { class: "name" }, h("bdi", {}, r.known_as), " ", h("span", { class: `pill ${r.status}` }, t(`driver-rider-${r.status}`))),
    h("p", {}, bits.join(" · ")),
  );
}

export function stopName(s) {
  return s.meeting_point_name ? `${s.meeting_point_name} – ${s.place_name ?? ""}` : s.place_name ?? "";
}

function navLinks(s) {
  const label = encodeURIComponent(stopName(s));
  return h(
    "p",
    { class: "nav" },
    h("a", { class: "button", href: `geo:${s.lat},${s.lon}?q=${s.lat},${s.lon}(${label})` }, t("driver-navigate-geo")),
    h(
      "a",
      { class: "button", rel: "noreferrer", target: "_blank", href: `https://www.google.com/maps/dir/?api=1&destination=${s.lat},${s.lon}&travelmode=driving` },
      t("driver-navigate-google"),
    ),
  );
}

export function stopCard(m, s, free, stops, isNext, { act, notesOpen, toggleNotes }) {
  const wait = m.no_show_wait_seconds;
  const btns = S.buttons(s).map((kind) => {
    const attrs = { class: `big action ${kind}`, "data-action": kind, onclick: () => act(s, kind) };
    if (kind === "boarded" && s.rider && !S.fits(s, free)) attrs.disabled = true;
    if (kind === "no_show") {
      attrs["data-timer"] = s.arrived_at ?? "";
      if (S.noShowWait(s, wait) > 0) attrs.disabled = true;
    }
    return h("button", attrs, t(`driver-action-${kind}`));
  });
  const over = s.kind === "pickup" && s.status === "arrived" && s.rider && !S.fits(s, free);
  return h(
    "section",
    { id: "stop", class: `card stop ${s.status}`, "data-stop-key": s.stop_key, "aria-labelledby": "stop-title" },
    h("p", { class: "eyebrow" }, isNext ? t("driver-next-stop") : t("driver-stop", { n: stops.indexOf(s) + 1 }), " · ", t(`driver-kind-${s.kind}`), " · ", t(`driver-stop-status-${s.status}`)),
    h("h2", { id: "stop-title" }, stopName(s)),
    s.landmark ? h("p", { class: "landmark" }, t("driver-landmark", { landmark: s.landmark })) : null,
    h("p", { class: "when" }, t("driver-planned", { time: time(s.planned_arrival) })),
    riderLine(s),
    s.rider ? h("p", { class: "muted" }, t("driver-free-on-arrival"), " ", t("driver-free-seats", { seats: s.free_seats }), " · ", t("driver-free-wheelchair", { places: s.free_wheelchair_places })) : null,
    over ? h("p", { class: "warn", role: "alert" }, t("driver-over-capacity", { seats: free.seats, places: free.wheelchair })) : null,
    s.kind === "pickup" && s.status === "arrived" ? h("p", { id: "timer", class: "timer", "data-timer": s.arrived_at ?? "", "data-wait": wait }, timerText(s, wait)) : null,
    h("div", { class: "actions" }, btns),
    navLinks(s),
    h("button", { class: "small", "aria-expanded": String(notesOpen), onclick: toggleNotes }, t("driver-action-note")),
    notesOpen
      ? h(
          "div",
          { class: "notes", role: "group", "aria-label": t("driver-notes-title") },
          m.notes.map((n) => h("button", { class: "note", "data-note": n, onclick: () => act(s, "note", { note: n }) }, t(`driver-note-${n}`))),
        )
      : null,
  );
}

export function timerText(s, wait) {
  const left = S.noShowWait(s, wait);
  if (left > 0) return t("driver-no-show-wait", { time: `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}` });
  return t("driver-no-show-ready", { minutes: Math.round(wait / 60) });
}

export function refusedList(items, stops, dismiss) {
  if (!items.length) return null;
  return h(
    "section",
    { id: "refused", class: "card alert", role: "alert" },
    h("h2", {}, t("driver-refused-title")),
    items.map((r) => {
      const s = stops.find((x) => x.stop_key === r.item.stop_key);
      const reason = has(`driver-refused-${r.code}`) ? t(`driver-refused-${r.code}`) : t("driver-refused-other", { code: r.code });
      return h(
        "p",
        { class: "refused", "data-code": r.code },
        t("driver-refused-item", { action: t(`driver-action-${r.item.kind}`), stop: s ? stops.indexOf(s) + 1 : "?", reason }),
        " ",
        h("button", { class: "small", onclick: () => dismiss(r.client_event_id) }, t("driver-dismiss")),
      );
    }),
  );
}

