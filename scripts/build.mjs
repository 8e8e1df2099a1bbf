// Builds the frontend part of dist/pgscope-app/ (DESIGN.md, "Packaging"): the three module.js
// files (AMD, as Grafana's SystemJS loads them), the content-hashed panel wasm, plugin.json files
// with version (+ build hash) and date filled in, logos and dashboards, a source map beside each module.js, and
// what Grafana's plugin page and the catalog read: README.md, CHANGELOG.md, LICENSE, docs/ and the screenshots
// plugin.json names. The backend binary is copied by the Makefile. Usage: node scripts/build.mjs <wasm-bindgen out dir> <dist app dir>
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const [wasmDir, appDir] = process.argv.slice(2).map((p) => resolve(p));
if (!wasmDir || !appDir) {
  console.error('usage: node scripts/build.mjs <wasm-bindgen out dir> <dist app dir>');
  process.exit(2);
}
const root = resolve(import.meta.dirname, '..');
const version = readFileSync(join(root, 'Cargo.toml'), 'utf8').match(/^version = "([^"]+)"/m)[1];
const today = new Date().toISOString().slice(0, 10);

const plugins = [
  {
    dir: appDir,
    manifest: 'plugin.json',
    entry: 'frontend/js/app.js',
    deps: ['react', '@grafana/data', '@grafana/runtime', '@grafana/ui'],
    args: ['React', 'grafanaData', 'grafanaRuntime', 'grafanaUi'],
  },
  {
    dir: join(appDir, 'datasource'),
    manifest: 'backend/plugin.json',
    entry: 'frontend/js/datasource.js',
    deps: ['react', '@grafana/data', '@grafana/runtime', '@grafana/ui'],
    args: ['React', 'grafanaData', 'grafanaRuntime', 'grafanaUi'],
  },
  {
    dir: join(appDir, 'panel'),
    manifest: 'frontend/plugin.json',
    entry: 'frontend/js/panel.js',
    deps: ['react', '@grafana/data', '@grafana/ui', 'module'],
    args: ['React', 'grafanaData', 'grafanaUi', 'amdModule'],
    wasm: true,
  },
];

// The wasm file, named by its content so a cached old copy is never used with a new module.js.
const wasm = readFileSync(join(wasmDir, 'pgscope_panel_bg.wasm'));
const wasmName = `pgscope_panel_bg.${createHash('sha256').update(wasm).digest('hex').slice(0, 16)}.wasm`;

for (const plugin of plugins) {
  mkdirSync(join(plugin.dir, 'img'), { recursive: true });
  cpSync(join(root, 'frontend/img/logo.svg'), join(plugin.dir, 'img/logo.svg'));

  const globalName = `__pgscope_${plugin.args.length}_${plugin.deps.join('_').replace(/\W/g, '')}`;
  await build({
    entryPoints: [join(root, plugin.entry)],
    bundle: true,
    minify: true,
    format: 'iife',
    globalName,
    target: 'es2020',
    outfile: join(plugin.dir, 'module.js'),
    // module.js.map beside each module.js: the catalog's validator asks for them (jssourcemap).
    sourcemap: true,
    alias: { 'pgscope-wasm': join(wasmDir, 'pgscope_panel.js') },
    define: { __PGSCOPE_WASM_FILE__: JSON.stringify(wasmName) },
    // wasm-bindgen's default wasm URL uses import.meta.url; we always pass the URL explicitly.
    logOverride: { 'empty-import-meta': 'silent' },
    banner: { js: `define(${JSON.stringify(plugin.deps)}, function (${plugin.args.join(', ')}) {` },
    footer: { js: `return ${globalName}.createModule(${plugin.args.join(', ')});\n});` },
    logLevel: 'warning',
  });

  if (plugin.wasm) {
    for (const old of readdirSync(plugin.dir).filter((f) => /^pgscope_panel_bg\..*\.wasm$/.test(f))) {
      rmSync(join(plugin.dir, old));
    }
    writeFileSync(join(plugin.dir, wasmName), wasm);
  }
}

// Grafana versions plugin files by the plugin's version only (module.js?_cache=<version>, cached
// an hour): a rebuild under the same version would let a cached module.js ask for a wasm that
// is gone. So the version carries the build as semver build metadata (0.1.0+<hash of the three
// module.js and the wasm>): every different build gets module.js URLs of its own.
const buildHash = createHash('sha256');
for (const plugin of plugins) buildHash.update(readFileSync(join(plugin.dir, 'module.js')));
buildHash.update(wasm);
const pluginVersion = `${version}+${buildHash.digest('hex').slice(0, 12)}`;
for (const plugin of plugins) {
  const manifest = readFileSync(join(root, plugin.manifest), 'utf8')
    .replaceAll('%VERSION%', pluginVersion)
    .replaceAll('%TODAY%', today);
  writeFileSync(join(plugin.dir, 'plugin.json'), manifest);
}

// The plugin page shows README.md and CHANGELOG.md; their relative links (docs/, LICENSE) and images resolve
// inside the package as in the repository. Screenshots are written by the e2e specs (docs/img/); one that is
// missing is left out with a warning here and fails scripts/check-validator.sh.
for (const file of ['README.md', 'CHANGELOG.md', 'LICENSE']) cpSync(join(root, file), join(appDir, file));
mkdirSync(join(appDir, 'docs/img'), { recursive: true });
for (const doc of readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md'))) {
  cpSync(join(root, 'docs', doc), join(appDir, 'docs', doc));
}
const appInfo = JSON.parse(readFileSync(join(root, 'plugin.json'), 'utf8')).info;
const readmeImages = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/!\[[^\]]*\]\(([^)\s]+)/g)].map((m) => m[1]);
for (const image of new Set([...(appInfo.screenshots || []).map((s) => s.path), ...readmeImages])) {
  if (existsSync(join(root, image))) cpSync(join(root, image), join(appDir, image));
  else console.warn(`build: ${image} (a screenshot named by plugin.json or README.md) is missing; run the e2e specs to write it`);
}

mkdirSync(join(appDir, 'dashboards'), { recursive: true });
cpSync(join(root, 'provisioning/dashboards/json'), join(appDir, 'dashboards'), { recursive: true });
console.log(`built ${appDir} (version ${pluginVersion}, ${wasmName}, ${wasm.length} bytes)`);
