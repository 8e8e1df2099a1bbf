#!/usr/bin/env bash
# The rules of Grafana's plugin validator (github.com/grafana/plugin-validator, the checks the
# catalog runs on a submitted zip) that can be held offline, checked on the zip `make dist` built.
# Each line names the validator pass it mirrors. Passes that need the network (grafana.com, link
# fetching, Google Web Risk), a signature, the source code or Go tools are listed at the end as
# not checked (docs/packaging.md says why).
# Usage: scripts/check-validator.sh dist/pgscope-app dist/pgscope-app-X.zip
set -uo pipefail
zip=$(realpath "${2:?usage: check-validator.sh <app dir> <zip>}")
cd "$(dirname "$0")/.."
schema=../shared/grafana/plugin.schema.json
passed=0; failed=0
check() { # check "pass: what" command...  (the command's output is shown when it fails)
  local what=$1 out; shift
  if out=$("$@" 2>&1); then passed=$((passed + 1)); echo "ok    $what"
  else failed=$((failed + 1)); echo "FAIL  $what"; [ -n "$out" ] && sed 's/^/        /' <<<"$out"; fi
}
note() { echo "note  $*"; }

# The validator works on the unpacked archive: so do we.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if ! unzip -q "$zip" -d "$tmp/x" 2>/dev/null; then echo "FAIL  archive: $zip does not unzip"; exit 1; fi
top=$(ls -A "$tmp/x")
root="$tmp/x/$(head -1 <<<"$top")"
export ROOT=$root ZIP=$zip SCHEMA=$schema

# A node snippet over the unpacked plugin: `js 'code'` with helpers json(path), plugins() (every
# plugin.json by its path relative to the root), fail(message) (exits 1 after printing).
js() {
  node -e '
    const fs = require("fs"), path = require("path"), root = process.env.ROOT;
    const json = (p) => JSON.parse(fs.readFileSync(path.join(root, p), "utf8"));
    const walk = (d) => fs.readdirSync(path.join(root, d), { withFileTypes: true })
      .flatMap((e) => e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
    const files = walk(".").map((f) => path.normalize(f));
    const plugins = () => Object.fromEntries(files.filter((f) => path.basename(f) === "plugin.json").map((f) => [f, json(f)]));
    const problems = [];
    const fail = (m) => problems.push(m);
    const done = () => { if (problems.length) { console.log(problems.join("\n")); process.exit(1); } };
  '"$1"'
    done();'
}

# archive: one root directory, no dist/ inside it. archivename: the directory is the plugin id.
check "archive: the zip holds one directory" test "$(wc -l <<<"$top")" = 1 -a -d "$root"
check "archive: no dist/ inside the root directory" test ! -e "$root/dist"
check "archivename: the root directory is named after the plugin id" js '
  if (path.basename(root) !== json("plugin.json").id) fail(`${path.basename(root)} is not ${json("plugin.json").id}`);'

# checksum: the validator compares an MD5 or SHA-1 given with the submission; `make dist` writes
# both a .sha1 (the form's kind) and a .sha256 beside the zip.
sums() { # sums <ext> <tool> <hex length>
  local file="$zip.$1"; [ -s "$file" ] || { echo "$file is missing"; return 1; }
  local given; given=$(awk 'NR==1{print tolower($1)}' "$file")
  [[ $given =~ ^[0-9a-f]{$3}$ ]] || { echo "$file: not a $1 checksum: $given"; return 1; }
  [ "$given" = "$($2 "$zip" | cut -d' ' -f1)" ] || { echo "$file does not match the zip"; return 1; }
}
check "checksum: $(basename "$zip").sha1 matches the zip (SHA-1, as the catalog takes it)" sums sha1 sha1sum 40
check "checksum: $(basename "$zip").sha256 matches the zip" sums sha256 sha256sum 64

# metadata / nestedmetadata: every plugin.json parses; the root one exists.
check "metadata: plugin.json at the root" test -s "$root/plugin.json"
check "nestedmetadata: every plugin.json in the archive parses" js 'plugins();'

# metadatavalid: Grafana's plugin.json schema (the validator checks the root one; we check all).
if [ -s "$schema" ]; then
  check "metadatavalid: every plugin.json validates against ../shared/grafana/plugin.schema.json" js '
    const Ajv = require(path.resolve("node_modules/ajv"));
    const validate = new Ajv({ allErrors: true, schemaId: "auto" }).compile(JSON.parse(fs.readFileSync(process.env.SCHEMA, "utf8")));
    for (const [f, p] of Object.entries(plugins())) if (!validate(p)) fail(`${f}: ${JSON.stringify(validate.errors)}`);'
else
  check "metadatavalid: Grafana's schema is at $schema (../shared missing: cannot validate)" false
fi

# includesnested: each nested plugin.json is an include of the app with its path and type.
check "includesnested: nested plugins declared in the app's includes with path and type" js '
  const app = json("plugin.json"), all = plugins();
  for (const [f, p] of Object.entries(all)) {
    if (f === "plugin.json") continue;
    const inc = (app.includes || []).find((i) => i.path === f);
    if (!inc) fail(`${f} is not an include of the app`);
    else if (inc.type !== p.type) fail(`${f}: include type ${inc.type}, plugin type ${p.type}`);
  }
  if (Object.keys(all).length > 1 && app.type !== "app") fail("nested plugins in a plugin that is not an app");'

# typesuffix: the id ends with the type. org: the id starts with the Grafana.com org slug,
# decided to be `pgscope` (CHANGELOG, docs/packaging.md). pluginname: name is not the id.
check "typesuffix: every id ends with -<type>" js '
  for (const [f, p] of Object.entries(plugins())) if (p.id.split("-").pop() !== p.type) fail(`${f}: ${p.id} does not end with -${p.type}`);'
check "org: every id starts with the org slug pgscope-" js '
  for (const [f, p] of Object.entries(plugins())) if (p.id.split("-")[0] !== "pgscope") fail(`${f}: ${p.id}`);'
note "org: whether grafana.com has an organisation 'pgscope' needs the network: not checked here"
check "pluginname: names are not ids" js '
  for (const [f, p] of Object.entries(plugins())) if (!p.name || p.name === p.id) fail(`${f}: name ${p.name}`);'

# discoverability: description and keywords.
check "discoverability: the app has a description and keywords" js '
  const info = json("plugin.json").info;
  if (!(info.description || "").trim()) fail("no description");
  if (!(info.keywords || []).length) fail("no keywords");'

# logos, screenshots, metadatapaths: set, relative without ./ or /, and the files exist (the
# catalog shows them). Screenshots: at least four, PNG or JPEG by their bytes, each < 300 KB.
check "logos: small and large set and present, in every plugin.json" js '
  for (const [f, p] of Object.entries(plugins())) for (const k of ["small", "large"]) {
    const l = ((p.info.logos || {})[k] || "").trim();
    if (!l) fail(`${f}: empty ${k} logo`);
    else if (!fs.existsSync(path.join(root, path.dirname(f), l))) fail(`${f}: ${l} is not in the archive`);
  }'
check "screenshots: at least four, named, present, PNG/JPEG, under 300 KB" js '
  const shots = json("plugin.json").info.screenshots || [];
  if (shots.length < 4) fail(`${shots.length} screenshots`);
  for (const s of shots) {
    if (!(s.name || "").trim() || !(s.path || "").trim()) { fail(`empty name or path: ${JSON.stringify(s)}`); continue; }
    const p = path.join(root, s.path);
    if (!fs.existsSync(p)) { fail(`${s.path} is not in the archive`); continue; }
    const b = fs.readFileSync(p);
    if (!(b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) || (b[0] === 0xff && b[1] === 0xd8))) fail(`${s.path} is not a PNG or JPEG`);
    if (b.length >= 300 * 1024) fail(`${s.path} is ${b.length} bytes`);
  }'
check "metadatapaths: logo and screenshot paths relative, not starting with . or /" js '
  for (const [f, p] of Object.entries(plugins())) {
    const paths = [...(p.info.screenshots || []).map((s) => s.path), (p.info.logos || {}).small, (p.info.logos || {}).large];
    for (const x of paths) if (!x || /^[a-z][a-z0-9+.-]*:/i.test(x) || /^[./]/.test(x)) fail(`${f}: ${x}`);
  }'

# readme, htmlreadme, templatereadme, jargon; changelog; license.
check "readme: README.md at the root" test -s "$root/README.md"
check "htmlreadme: no HTML in README.md" js '
  const m = fs.readFileSync(path.join(root, "README.md"), "utf8").match(/<\/[a-z]+>/); if (m) fail(m[0]);'
check "templatereadme: README.md is not the plugin template's" js '
  if (/^# Grafana (Panel|Data Source|Data Source Backend) Plugin Template/.test(fs.readFileSync(path.join(root, "README.md"), "utf8"))) fail("template README");'
check "jargon: README.md has no developer jargon (yarn, nodejs)" js '
  const r = fs.readFileSync(path.join(root, "README.md"), "utf8"); for (const w of ["yarn", "nodejs"]) if (r.includes(w)) fail(w);'
check "changelog: CHANGELOG.md at the root, not empty" grep -q '[^[:space:]]' "$root/CHANGELOG.md"
license_ok() {
  grep -q '^license = "Apache-2.0"' Cargo.toml || { echo "Cargo.toml does not declare Apache-2.0"; return 1; }
  for phrase in 'Apache License' 'Version 2.0, January 2004' 'TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION' 'END OF TERMS AND CONDITIONS'; do
    grep -qF "$phrase" "$root/LICENSE" || { echo "LICENSE lacks: $phrase"; return 1; }
  done
  # Debian's copy is the standard text: where it is installed, the LICENSE must be it word for word.
  if [ -f /usr/share/common-licenses/Apache-2.0 ]; then
    diff -q <(tr -s '[:space:]' ' ' </usr/share/common-licenses/Apache-2.0) <(tr -s '[:space:]' ' ' <"$root/LICENSE") >/dev/null || { echo "LICENSE is not the standard Apache-2.0 text"; return 1; }
  fi
}
check "license: LICENSE at the root is the Apache-2.0 text Cargo.toml declares" license_ok

# brokenlinks: links and images of README.md and CHANGELOG.md. Relative ones must resolve inside
# the archive (no network: absolute ones are listed, not fetched).
check "brokenlinks: relative links and images of README.md and CHANGELOG.md resolve inside the archive" js '
  for (const doc of ["README.md", "CHANGELOG.md"]) {
    for (const m of fs.readFileSync(path.join(root, doc), "utf8").matchAll(/\[.+?\]\((.+?)\)/g)) {
      const target = m[1].split(/\s+/)[0];
      if (/^(#|mailto:|https?:\/\/)/.test(target)) continue;
      const file = decodeURI(target.split("#")[0]);
      if (!fs.existsSync(path.join(root, path.dirname(doc), file))) fail(`${doc}: ${target}`);
    }
  }'
check "brokenlinks: plugin.json links (documentation and issues among them) are absolute http(s) URLs" js '
  const links = json("plugin.json").info.links || [];
  for (const l of links) if (!/^https?:\/\/[^\s]+$/.test(l.url)) fail(`${l.name}: ${l.url}`);
  for (const want of [/doc/i, /issue/i]) if (!links.some((l) => want.test(l.name))) fail(`no link named ${want}`);'
relative=$(grep -oE '\]\([^)#h][^)]*\)' "$root/README.md" 2>/dev/null | wc -l)
note "brokenlinks: README.md has $relative relative links/images (the catalog asks for absolute https links; they resolve in the package and the repository, and need a public repository URL to become absolute); no link is fetched here"

# version: semver (the build hash as build metadata). grafanadependency / restrictivedep: a
# range that admits future Grafana versions.
check "version: info.version is semver, the same in every plugin.json" js '
  const vs = Object.values(plugins()).map((p) => p.info.version);
  const semver = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
  if (new Set(vs).size !== 1 || !semver.test(vs[0])) fail(vs.join(" "));'
note "version: whether it is above the version published on grafana.com needs the network: not checked here"
check "grafanadependency: set, an open range (not X.Y.x or one exact version)" js '
  for (const [f, p] of Object.entries(plugins())) {
    const d = (p.dependencies || {}).grafanaDependency || "";
    if (!/^>=\s*\d+\.\d+\.\d+/.test(d) || /^[0-9]+.[0-9]+.(x|[0-9]+)$/.test(d)) fail(`${f}: ${d}`);
  }'

# backendbinary / binarypermissions / backenddebug: a plugin with an executable is a backend
# plugin, and its binaries carry platform suffixes, mode 0755 in the zip. pgscope ships
# linux_amd64 and linux_arm64 (Grafana on Graviton, Raspberry Pi, Apple silicon Docker): both required.
check "backendbinary: executable ⇔ backend, alerting ⇒ backend, a binary per declared executable" js '
  const suffixes = ["_linux_amd64", "_linux_arm64", "_darwin_amd64", "_darwin_arm64", "_windows_amd64.exe"];
  for (const [f, p] of Object.entries(plugins())) {
    if (p.alerting && !p.backend) fail(`${f}: alerting without backend`);
    if (!!p.executable !== !!p.backend) fail(`${f}: backend ${p.backend}, executable ${p.executable}`);
    if (!p.executable) continue;
    const base = path.join(path.dirname(f), p.executable);
    const named = files.filter((x) => x.startsWith(base));
    for (const x of named) if (!suffixes.some((s) => x === base + s)) fail(`${x}: not a known platform suffix`);
    if (!named.includes(base + "_linux_amd64")) fail(`${base}_linux_amd64 is missing`);
    if (!named.includes(base + "_linux_arm64")) fail(`${base}_linux_arm64 is missing`);
  }'
perms() {
  local bad
  bad=$(unzip -Z "$zip" | awk '$NF ~ /\/gpx_pgscope_/ && $1 != "-rwxr-xr-x" {print $1, $NF}')
  [ -z "$bad" ] || { echo "$bad"; return 1; }
  # (grep without -q reads to the end: with pipefail, -q's early exit would fail unzip on SIGPIPE)
  unzip -Z1 "$zip" | grep '/gpx_pgscope_' >/dev/null || { echo "no backend binary in the zip"; return 1; }
}
check "binarypermissions: every backend binary is 0755 in the zip" perms
check "backenddebug: no standalone.txt or pid.txt" js '
  for (const f of files) if (["standalone.txt", "pid.txt"].includes(path.basename(f))) fail(f);'

# modulejs, trackingscripts, legacyplatform, jssourcemap: the frontend bundles.
check "modulejs: module.js at the root" test -s "$root/module.js"
check "trackingscripts / legacyplatform: no tracking servers, no Angular platform in any module.js" js '
  const bad = ["https://www.google-analytics.com", "https://api-js.mixpanel.com", "https://mixpanel.com", "PanelCtrl", "QueryCtrl",
    "app/plugins/sdk", "angular.isNumber(", "editor.html", "ctrl.annotation", "getLegacyAngularInjector", "System.register("];
  for (const f of files.filter((x) => path.basename(x) === "module.js")) {
    const s = fs.readFileSync(path.join(root, f), "utf8");
    for (const b of bad) if (s.includes(b)) fail(`${f}: ${b}`);
    if (/["\x27](app\/core\/utils\/promiseToDigest)|(app\/plugins\/.*?)|(app\/core\/core_module)["\x27]/.test(s) || /from\s+["\x27]grafana\/app\//.test(s)) fail(`${f}: legacy import`);
  }'
check "jssourcemap: a source map (v3, with its sources) beside every module.js" js '
  for (const f of files.filter((x) => path.basename(x) === "module.js")) {
    const m = f + ".map";
    if (!files.includes(m)) { fail(`${m} is missing`); continue; }
    const map = json(m);
    if (map.version !== 3 || !(map.sources || []).length || (map.sourcesContent || []).length !== map.sources.length) fail(`${m}: not a v3 map with its sources`);
  }'

# unsafesvg: no script-capable elements, no on* attributes in any SVG.
check "unsafesvg: every SVG free of forbidden elements and event attributes" js '
  const forbidden = "annotation-xml|audio|colgroup|iframe|math|mi|mn|mo|ms|mtext|noembed|noframes|noscript|plaintext|script|template|thead|xmp";
  for (const f of files.filter((x) => x.endsWith(".svg"))) {
    const s = fs.readFileSync(path.join(root, f), "utf8");
    const el = s.match(new RegExp(`<\\/?\\s*(${forbidden})[\\s>/]`, "i"));
    if (el) fail(`${f}: element ${el[1]}`);
    const attr = s.match(/<[^>]*\s(on[a-z]+)\s*=/i);
    if (attr) fail(`${f}: attribute ${attr[1]}`);
  }'

cat <<'EOF'
not checked (docs/packaging.md): signature, manifest, provenance (unsigned: Grafana.com signing);
  org, version, brokenlinks fetching, safelinks, published, cloudversion (network); sourcecode,
  jssourcemap's comparison with the source, codediff, coderules, gosec, govulncheck, gomanifest,
  gobuildinfo, osvscanner, buildtools, packagejson, reactcompat, sdkusage, circulardependencies,
  levitate, llmreview (need the submitted source and Go or JS tool chains); virusscan (ClamAV);
  sponsorshiplink (a suggestion, no rule).
EOF
echo "validator: $passed passed, $failed failed"
[ "$failed" = 0 ]
