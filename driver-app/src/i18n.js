// Messages from the shared Fluent files (../../messages/<lang>.ftl, one per language; the
// build hands their hashed URLs in as __MESSAGES__). A language is added by adding a file.
import { FluentBundle, FluentResource } from "@fluent/bundle";

/* global __MESSAGES__ */
export const languages = Object.keys(__MESSAGES__);
let bundle = null;
// Italian, for the messages a language's file does not have yet (a file added by a mediator
// for the workers' pages may lack the drivers' messages).
let fallback = null;
export let lang = "it";

async function bundleOf(l) {
  const text = await (await fetch(new URL(__MESSAGES__[l], document.baseURI))).text();
  const b = new FluentBundle(l);
  b.addResource(new FluentResource(text));
  return b;
}

export async function load(wanted) {
  lang = languages.includes(wanted) ? wanted : languages.includes("it") ? "it" : languages[0];
  bundle = await bundleOf(lang);
  fallback = lang !== "it" && languages.includes("it") ? await bundleOf("it") : null;
  document.documentElement.lang = lang;
  const dir = bundle.getMessage("language-dir")?.value;
  document.documentElement.dir = dir === "rtl" ? "rtl" : "ltr";
}

/** Whether a message exists (optional messages such as a refusal code). */
export const has = (id) => bundle?.hasMessage(id) || fallback?.hasMessage(id);

/** The message `id` with `args` (in Italian when the language lacks it); its id when missing
 * everywhere, so a gap shows and is not silent. */
export function t(id, args) {
  for (const b of [bundle, fallback]) {
    const m = b?.getMessage(id);
    if (m?.value) return b.formatPattern(m.value, args);
  }
  return id;
}

/** Each language's own name, for the language switch. */
export async function names() {
  const out = {};
  for (const l of languages) {
    const text = await (await fetch(new URL(__MESSAGES__[l], document.baseURI))).text();
    const m = /^language-name = (.*)$/m.exec(text);
    out[l] = m ? m[1] : l;
  }
  return out;
}

export const time = (iso) =>
  new Intl.DateTimeFormat(`${lang}-u-nu-latn`, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "Europe/Rome" }).format(
    new Date(iso),
  );
