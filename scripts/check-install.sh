#!/usr/bin/env bash
# Tries the README's tarball install ("Install into a real Grafana OSS") step by step on a
# directory laid out like grafana-<version>.linux-amd64.tar.gz (conf/provisioning/*,
# data/plugins), with the stand-in host (e2e/host) in place of `./bin/grafana server`, which
# cannot be installed here. Checks: the app provisioned before the plugin files are there stops
# the start (as Grafana's plugin provisioner does); after the steps, the app is enabled, both
# datasources carry PGSCOPE_TSDB_URL, the four dashboards are in General (from the app's
# includes, once each), and the panel's wasm is served where its baseUrl points.
# Usage: scripts/check-install.sh [dist zip]   (after `make dist`; builds the stand-in if needed)
set -uo pipefail
cd "$(dirname "$0")/.."
zip=$(realpath "${1:-dist/pgscope-app-$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1).zip}")
repo=$PWD
passed=0; failed=0
check() { # check "what" command...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what"; fi
}
cargo build --locked -q -p pgscope-e2e-host --bin pgscope-host
[ -d target/host-web ] || node e2e/host/web/build.mjs target/host-web >/dev/null

work=$(mktemp -d)
host_pid=
cleanup() {
  if [ -n "$host_pid" ]; then kill "$host_pid" 2>/dev/null; wait "$host_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
home=$work/grafana-v12.3.0
mkdir -p "$home"/conf/provisioning/{alerting,dashboards,datasources,notifiers,plugins} "$home/bin"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS=pgscope-app,pgscope-datasource,pgscope-panel
export PGSCOPE_TSDB_URL=http://127.0.0.1:8428

grafana_server() { # [wrapper...]: what `./bin/grafana server` does with the tarball's defaults, in the stand-in.
  # Only ever called in a subshell (`&` or `$(...)`): it cd's and execs there, so the PID the
  # caller keeps is the host's own and stopping it stops the host (and its plugin).
  cd "$home" && exec "$@" "$repo/target/debug/pgscope-host" --plugins data/plugins --provisioning conf/provisioning \
    --web "$repo/target/host-web" --systemjs "$repo/node_modules/systemjs/dist" --listen "127.0.0.1:$port"
}

# The pitfall: the app enabled by provisioning before its files (or the allow-list) are there.
mkdir -p "$home/data/plugins"
cp provisioning/plugins/pgscope.yaml "$home/conf/provisioning/plugins/"
out=$(grafana_server timeout 20 2>&1)
status=$?
check "an app provisioned without its plugin stops the start" test "$status" -ne 0 -a "$status" -ne 124
check "... saying which app" grep -q "pgscope-app" <<<"$out"

# The README's tarball steps, word for word (paths to this checkout instead of /path/to/pgscope).
(
  cd "$home" || exit 1
  mkdir -p data/plugins && unzip -q "$zip" -d data/plugins
  cp "$repo/provisioning/plugins/pgscope.yaml" conf/provisioning/plugins/
  cp "$repo/provisioning/datasources/pgscope.yaml" conf/provisioning/datasources/
  cp "$repo/provisioning/alerting/pgscope-stack.yaml" conf/provisioning/alerting/
)
grafana_server >"$work/host.log" 2>&1 &
host_pid=$!
for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.1; done
api() { curl -sf "http://127.0.0.1:$port$1"; }
check "the host started" api /api/health
check "the app is enabled" bash -c "$(declare -f api); port=$port; api /api/plugins/pgscope-app/settings | grep -q '\"enabled\":true'"
for uid in pgscope pgscope-pg; do
  check "datasource $uid has PGSCOPE_TSDB_URL" bash -c "$(declare -f api); port=$port; api /api/datasources/uid/$uid | grep -q '\"url\":\"http://127.0.0.1:8428\"'"
done
check "the four dashboards, in General, once each" node -e '
  const items = JSON.parse(process.argv[1]);
  const uids = items.map((d) => d.uid).sort();
  const want = ["pgscope-pgss-changed", "pgscope-pgss-query", "pgscope-pgss-top", "pgscope-stack-health"];
  if (JSON.stringify(uids) !== JSON.stringify(want) || !items.every((d) => d.folderTitle === "General")) process.exit(1);' \
  "$(api /api/search)"
# The wasm URL the panel builds from the meta.baseUrl it is given (frontend/js/wasmUrl.js).
settings=$(api /api/frontend/settings)
wasm=$(basename "$(ls "$home"/data/plugins/pgscope-app/panel/pgscope_panel_bg.*.wasm)")
url=$(node --input-type=module -e "
  import { wasmUrl } from '$repo/frontend/js/wasmUrl.js';
  const meta = JSON.parse(process.argv[1]).panels['pgscope-panel'];
  console.log(wasmUrl('$wasm', meta, {}, 'http://127.0.0.1:$port/'));" "$settings")
check "the panel's wasm is served at $url" curl -sf -o /dev/null "$url"
echo "install (tarball layout, stand-in host): $passed passed, $failed failed"
[ "$failed" = 0 ]
