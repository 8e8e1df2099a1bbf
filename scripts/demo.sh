#!/usr/bin/env bash
# `make demo`: the real stack (e2e/stack) and Grafana with pgscope loaded and provisioned:
# a real Grafana when a `grafana` binary is on PATH (GRAFANA_HOME: its homepath, default
# /usr/share/grafana), otherwise the stand-in host (e2e/host). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${DEMO_PORT:-3000}
server_pid=
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  bash e2e/stack/stack.sh stop
  echo "demo: stopped"
}
trap cleanup EXIT INT TERM

bash e2e/stack/stack.sh start
eval "$(bash e2e/stack/stack.sh env)"
export PGSCOPE_TSDB_URL PGSCOPE_PG_NAMES GF_PATHS_PROVISIONING="$PWD/provisioning"

if command -v grafana >/dev/null; then
  data=$(mktemp -d)
  GF_PATHS_PLUGINS="$PWD/dist" GF_PATHS_DATA="$data" GF_SERVER_HTTP_ADDR=127.0.0.1 GF_SERVER_HTTP_PORT="$PORT" \
    GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS=pgscope-app,pgscope-datasource,pgscope-panel \
    grafana server --homepath "${GRAFANA_HOME:-/usr/share/grafana}" &
  server_pid=$!
  what="Grafana (admin/admin)"
else
  cargo build --locked -q -p pgscope-e2e-host
  node e2e/host/web/build.mjs target/host-web >/dev/null
  target/debug/pgscope-host --plugins dist --provisioning provisioning --web target/host-web \
    --systemjs node_modules/systemjs/dist --listen "127.0.0.1:$PORT" &
  server_pid=$!
  what="the Grafana stand-in (no grafana binary on PATH)"
fi
echo
echo "demo: $what at http://127.0.0.1:$PORT/d/pgscope-pgss-top"
echo "demo: datasource page http://127.0.0.1:$PORT/connections/datasources/edit/pgscope · TSDB $PGSCOPE_TSDB_URL"
echo "demo: Ctrl-C stops everything"
wait "$server_pid"
