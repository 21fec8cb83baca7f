// A few lines of DOM building shared by the screens.

/** A DOM element: h("p", { class: "x", onclick }, "text", child...). */
export function h(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, "");
    else e.setAttribute(k, v);
  }
  e.append(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));
  return e;
}

/** The nodes given, without the absent ones. */
export const present = (...nodes) => nodes.flat().filter((n) => n !== null && n !== undefined && n !== false);

