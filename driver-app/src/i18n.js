// Messages from the shared Fluent files (../../messages/<lang>.ftl, one per language; the
// build hands their hashed URLs in as __MESSAGES__). A language is added by adding a file.
import { FluentBundle, FluentResource } from "@fluent/bundle";

/* global __MESSAGES__ */
export const languages = Object.keys(__MESSAGES__);
let bundle = null;
export let lang = "it";

export async function load(wanted) {
  lang = languages.includes(wanted) ? wanted : languages.includes("it") ? "it" : languages[0];
  const text = await (await fetch(new URL(__MESSAGES__[lang], document.baseURI))).text();
  bundle = new FluentBundle(lang);
  bundle.addResource(new FluentResource(text));
  document.documentElement.lang = lang;
}

/** Whether a message exists (optional messages such as a refusal code). */
export const has = (id) => bundle?.hasMessage(id);

/** The message `id` with `args`; its id when missing, so a gap shows and is not silent. */
export function t(id, args) {
  const m = bundle?.getMessage(id);
  if (!m?.value) return id;
  return bundle.formatPattern(m.value, args);
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
  new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", timeZone: "Europe/Rome" }).format(
    new Date(iso),
  );
