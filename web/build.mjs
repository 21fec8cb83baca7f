// Builds Passaggio's web front-ends into web/dist/<front-end>/, which the service serves under
// /<front-end>/ (dispatch/src/web.rs). One place for every front-end:
//   - JS bundled and minified by esbuild for Chrome 109 (old Android phones), CSS likewise;
//   - every asset under assets/ with a content hash in its name (served `immutable`);
//   - the Fluent message files of ../messages/ (one per language, shared by all front-ends)
//     copied as hashed assets, their URLs handed to the code;
//   - index.html, the web manifest and sw.js without a hash (served `no-cache`);
//   - a .gz copy of every text file (the service sends it to clients that accept gzip).
// Usage: node build.mjs            (all front-ends)
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "..");
const dist = join(here, "dist");

const hash = (buf) => createHash("sha256").update(buf).digest("hex").slice(0, 10);

/** The message files, as { lang: { name, text } }. */
async function messages() {
  const out = {};
  for (const f of (await readdir(join(root, "messages"))).sort()) {
    if (!f.endsWith(".ftl")) continue;
    const text = await readFile(join(root, "messages", f));
    out[f.slice(0, -4)] = { name: `assets/messages/${f.slice(0, -4)}-${hash(text)}.ftl`, text };
  }
  return out;
}

async function writeAsset(outDir, name, content) {
  const path = join(outDir, name);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  if (/\.(js|css|html|ftl|json|webmanifest|svg)$/.test(name)) {
    await writeFile(path + ".gz", gzipSync(content, { level: 9 }));
  }
}

/** The driver app: driver-app/ → dist/driver/. */
async function buildDriver() {
  const src = join(root, "driver-app");
  const out = join(dist, "driver");
  await rm(out, { recursive: true, force: true });
  const msgs = await messages();
  const messageUrls = Object.fromEntries(Object.entries(msgs).map(([l, m]) => [l, m.name]));
  const bundle = await build({
    entryPoints: [join(src, "src/main.js"), join(src, "src/app.css")],
    bundle: true,
    minify: true,
    format: "esm",
    target: "chrome109",
    write: false,
    outdir: "out",
    entryNames: "[name]-[hash]",
    define: { __MESSAGES__: JSON.stringify(messageUrls) },
    legalComments: "none",
    nodePaths: [join(here, "node_modules")],
  });
  const assets = [];
  for (const f of bundle.outputFiles) {
    const name = "assets/" + f.path.split("/").pop();
    await writeAsset(out, name, f.contents);
    assets.push(name);
  }
  for (const m of Object.values(msgs)) {
    await writeAsset(out, m.name, m.text);
    assets.push(m.name);
  }
  const icon = await readFile(join(src, "icon.svg"));
  const iconName = `assets/icon-${hash(icon)}.svg`;
  await writeAsset(out, iconName, icon);
  assets.push(iconName);
  const js = assets.find((a) => a.endsWith(".js"));
  const css = assets.find((a) => a.endsWith(".css"));
  const html = (await readFile(join(src, "index.html"), "utf8"))
    .replaceAll("%JS%", js)
    .replaceAll("%CSS%", css)
    .replaceAll("%ICON%", iconName);
  await writeAsset(out, "index.html", html);
  const manifest = JSON.parse(await readFile(join(src, "manifest.webmanifest"), "utf8"));
  manifest.icons = [{ src: iconName, sizes: "any", type: "image/svg+xml", purpose: "any" }];
  await writeAsset(out, "manifest.webmanifest", JSON.stringify(manifest));
  // The service worker precaches the shell; its version is the hash of everything it caches,
  // so any change of the app makes a new sw.js (and so an update the app can apply when no
  // run is under way).
  const shell = ["./", "manifest.webmanifest", ...assets];
  const version = hash(shell.join("\n"));
  const sw = (await readFile(join(src, "src/sw.js"), "utf8"))
    .replace("self.__SHELL__", JSON.stringify(shell))
    .replace("self.__VERSION__", JSON.stringify(version));
  const swMin = await build({ stdin: { contents: sw }, minify: true, target: "chrome109", write: false });
  await writeAsset(out, "sw.js", swMin.outputFiles[0].contents);
  await writeAsset(out, "build.json", JSON.stringify({ version, js, css, assets }));
  console.log(`web: driver app built into ${out} (version ${version})`);
}

/**
 * The coordinator console's map island: web/console/ → dist/console/assets/, and
 * dist/console/manifest.json naming the hashed JS and CSS for the console's pages (the service
 * reads it at start-up). The pages themselves are rendered by the service.
 */
async function buildConsole() {
  const src = join(here, "console");
  const out = join(dist, "console");
  await rm(out, { recursive: true, force: true });
  const bundle = await build({
    entryPoints: [join(src, "map.js")],
    bundle: true,
    minify: true,
    format: "esm",
    target: "chrome109",
    write: false,
    outdir: "out",
    entryNames: "[name]-[hash]",
    assetNames: "[name]-[hash]",
    loader: { ".png": "file", ".svg": "file" },
    legalComments: "none",
    nodePaths: [join(here, "node_modules")],
  });
  const assets = [];
  for (const f of bundle.outputFiles) {
    const name = "assets/" + f.path.split("/").pop();
    await writeAsset(out, name, f.contents);
    assets.push(name);
  }
  const js = assets.find((a) => a.endsWith(".js"));
  const css = assets.find((a) => a.endsWith(".css"));
  await writeFile(join(out, "manifest.json"), JSON.stringify({ js: "/console/" + js, css: "/console/" + css, assets }));
  console.log(`web: console map built into ${out}`);
}

await mkdir(dist, { recursive: true });
await buildDriver();
await buildConsole();
